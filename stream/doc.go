// Package stream runs data pipelines as Proto.Actor actors with
// demand-driven backpressure: PacketFlow's stream substrate.
//
// A pipeline is built from blueprints — sources (FromSlice, FromChan,
// Generate, Ticker, After, FromInbox for intents arriving at a reactor,
// FromRemote), flows (Map, MapErr, Filter, FlatMap, KeyBy, Batch,
// Throttle, MapAsync, MapAsyncUnordered, Buffer, Window) and sinks
// (ForEach, ForEachErr, ToChan, Ignore, ToReactor, ToRemote, Broadcast) —
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
// the pipelines on the other side with ErrStageLost.
package stream
