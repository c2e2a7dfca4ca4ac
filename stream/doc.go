// Package stream runs data pipelines as Proto.Actor actors with
// demand-driven backpressure: PacketFlow's stream substrate.
//
// A pipeline is built from blueprints — sources (FromSlice, FromChan,
// Generate, Ticker, After, FromInbox for intents arriving at a reactor,
// FromRemote, FromRemoteAcked), flows (Map, MapErr, Filter, FlatMap, KeyBy, Batch,
// Throttle, MapAsync, MapAsyncUnordered, Buffer, Window) and sinks
// (ForEach, ForEachErr, ForEachAck, ToChan, Ignore, ToReactor, ToRemote,
// ToRemoteRestartable, Broadcast) —
// and run on the caller's actor system (for a node, actor.Runtime.System):
//
//	p, err := stream.Via(stream.FromSlice(xs), stream.Map(f)).
//		Via(stream.Filter(keep)).To(stream.ForEach(use)).Run(ctx, rt.System())
//	...
//	err = p.Wait(ctx) // or <-p.Done(); p.Err(); p.Cancel()
//
// Run spawns one owner actor and, as its children, one actor per stage.
// The owner stops every stage when the pipeline completes, fails or is
// cancelled; every goroutine a stage starts (a channel reader, MapAsync's
// calls) belongs to that stage and ends before it stops. Nothing of a
// pipeline outlives Done.
//
// # The contract between stages
//
// Stages follow the Reactive Streams rules, with demand and elements as
// actor messages. A subscriber requests n elements of its upstream; a
// stage never emits more elements than were requested; requests
// accumulate, saturating at math.MaxInt64 instead of overflowing;
// request(n) with n <= 0 is answered with onError(ErrInvalidDemand) (rule
// 3.9); cancel is idempotent; after complete, error or cancel nothing more
// is emitted, and a request is a no-op. A stage that receives more than it
// requested fails with ErrProtocol.
//
// Demand and elements move in batches (Config.Batch, 256 by default): a
// stage keeps up to a batch requested ahead, asks for more when half is
// used, and sends what its downstream requested in one message per batch.
// That is what makes a chain of actors competitive with hand-written
// channel pipelines (see BenchmarkPipeline). Memory is bounded by it: each
// stage holds at most about a batch of input and a batch of output, and a
// Buffer or an Inbox holds at most its size, whatever its overflow
// strategy (OverflowBackpressure, OverflowDropOldest, OverflowDropNewest,
// OverflowDropBuffer, OverflowFail); what they drop is counted in
// StageStats.
//
// # Errors
//
// An error of a stage — returned by user code (MapErr, ForEachErr), a panic
// in it, a denied or failed intent of ToReactor, an overflow — goes to the
// stage's decider (Supervise): Resume drops the element and counts it,
// Restart drops the stage's state (open windows, a partial batch, buffered
// elements) and goes on, Stop (the default) fails the pipeline with a
// *StageError naming the stage. Blueprints built from bad input (nil
// functions, non-positive sizes) make Run return ErrInvalid before
// anything is spawned; nothing panics.
//
// # Windows
//
// Window cuts a keyed stream (KeyBy) into tumbling, sliding or session
// windows by time, or tumbling and sliding windows by count. Time windows
// use processing time (Config.Clock) or event time with watermarks
// (bounded out-of-orderness), allowed lateness and a side output for late
// elements. Bounds are half-open [start, end), aligned to the Unix epoch
// with floor arithmetic; keys never mix; sessions merge when an element
// bridges them. The same event-time input always fires the same windows
// in the same order.
//
// # Time
//
// Time-driven stages read Config.Clock; tests pass a ManualClock and move
// it, never sleeping.
//
// # Across members
//
// ToRemote and FromRemote join pipelines on two actor systems reached
// through Proto.Actor remote: the protocol (streampb) carries demand,
// elements (encoded by a Codec), completion, failure and cancellation, so
// backpressure holds across the wire. A member that dies or leaves fails
// the pipelines on the other side with ErrStageLost, unless the leg is
// restartable.
//
// # Restartable streams
//
// A pipeline declares its remote leg restartable by ending in
// ToRemoteRestartable instead of ToRemote; the other member reads it with
// FromRemoteAcked, whose elements are Positioned: each carries its
// position, the publisher's count of the elements before it (for a
// source connected straight to the sink, the source's offset). The
// subscriber's pipeline acknowledges what it handled — ForEachAck does it
// after each element's function returns, RemoteInlet.Ack does it by hand —
// and the source sends the acknowledgements back as protobuf (streampb.Ack,
// cumulative, at least every quarter of the window). The publisher keeps
// every element not yet acknowledged, at most Restartable.Window of them
// (which holds back its upstream: memory stays bounded).
//
// When the subscriber's stage terminates before the stream ended
// (Terminated, or AddressTerminated when its member died), the publisher
// waits Restartable.Backoff (doubling with each restart), asks
// Restartable.Reconnect for a replacement PID, connects to it in a new
// session and resumes from the last acknowledged position: the
// replacement answers with the position it needs (streampb.Resume), and
// the publisher replays what is unacknowledged from there, then goes on
// with its upstream, which never stopped. An acknowledged element is
// never sent again. After MaxRestarts restarts the next loss fails the
// pipeline with ErrRestartsExhausted (which wraps ErrStageLost); an error
// from Reconnect fails it with ErrStageLost. StageStats of the publisher
// count restarts (Restarts) and elements sent again (Replayed).
//
// Delivery is at least once: a replacement that starts from position 0
// gets again what its predecessor handled without acknowledging it — at
// most Window elements, in order, with no gap. It is exactly once when the
// subscriber records the positions it handled durably, together with its
// effects, and starts its replacement from the next one
// (FromRemoteAcked's from): the publisher then skips what the subscriber
// has, replaying or producing only what it lacks. Within one subscriber,
// positions arrive in order and at most once.
//
// Limits: a restartable leg restarts its subscriber, not its publisher —
// a publisher's member that dies fails the subscriber's pipeline with
// ErrStageLost, and the elements in its window are lost with it (a
// replacement publisher can resume where the subscriber stands only if its
// source is positioned the same way, by starting a new pipeline at the
// subscriber's position). Stages between FromRemoteAcked and the
// acknowledging sink must hold fewer than Window elements, or the stream
// waits for acknowledgements that cannot come; an element a Filter drops
// is acknowledged by the next one acknowledged, and everything is once
// every sink of the subscriber's pipeline has completed.
package stream
