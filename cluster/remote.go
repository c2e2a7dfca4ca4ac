package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster/clusterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
	"github.com/packetflow/packetflow/internal/wait"
)

// IntakeName is the actor name of every node's intake: peers send an
// intentpb.Envelope to the PID {Address: node's address, Id: IntakeName} and
// get an intentpb.Reply back at the sender PID.
const IntakeName = "packetflow-intake"

// ErrRemoteStopped is returned by a Remote that is stopping or stopped.
var ErrRemoteStopped = fmt.Errorf("%w: remote stopped", intent.ErrUnavailable)

// Remote carries intents between this node's runtime and the runtimes of
// other nodes over Proto.Actor remote: Request sends an envelope to a peer
// and waits for its reply; the intake answers the envelopes peers send here.
// All methods are safe for concurrent use.
//
// # Trust
//
// The intake hands the grants an envelope carries to the capability check
// as they are: a peer is trusted to have authenticated the caller at its
// entry point, because the peer itself is authenticated. With
// RemoteConfig.TLS only a process holding a certificate issued by the
// cluster's CA can connect, so only members can assert grants. Without TLS
// anyone who reaches the bound port is trusted as a member; that is logged
// as a warning at start, and suits only loopback and closed networks.
//
// # Deadlines and outcomes
//
// An envelope's deadline travels with it as an absolute instant, so members'
// clocks must agree (NTP); a skewed receiver drops intents early or works
// on them late. A Request that fails with intent.ErrDeadlineExceeded or
// intent.ErrUnavailable has an unknown outcome: the peer may have handled
// the intent, and retrying one that is not idempotent may apply it twice.
type Remote struct {
	system   *protoactor.ActorSystem
	rt       *actor.Runtime
	remote   *remote.Remote
	log      *slog.Logger
	address  string
	intake   *protoactor.PID
	settings remoteSettings
	events   *eventstream.Subscription // Proto.Actor's endpoint events

	// pending holds the reply process of every Request in flight, so that a
	// lost connection fails the Requests to that peer at once.
	pending sync.Map // *replyProcess -> struct{}

	// sending is held (read) by every Request while it hands its envelope to
	// Proto.Actor, and taken by Stop before it shuts Proto.Actor down, which
	// clears state those sends read without synchronisation.
	sending sync.RWMutex

	// eventsMu is taken by endpointEvent, and by Stop before it shuts
	// Proto.Actor down (see endpointEvent); it guards connected, the peers
	// Proto.Actor holds a connection to.
	eventsMu  sync.Mutex
	connected map[string]struct{}

	// peers holds, for every peer address, whether Proto.Actor holds a
	// connection to it (*atomic.Bool), readable without eventsMu.
	peers sync.Map

	// answered holds the address of every peer the intake has answered:
	// Stop flushes to those still connected.
	answered sync.Map // address -> struct{}

	// intakes caches the PID of each peer's intake: a PID keeps the process
	// Proto.Actor resolved it to, which a new PID would resolve again.
	intakes sync.Map // address -> *protoactor.PID

	// inflights holds every intent from a peer handed to the runtime and
	// not yet answered (*inflight), so that Stop can answer them.
	inflights sync.Map

	// deliveriesMu guards draining and the Add side of deliveries: no
	// delivery starts once Stop has begun waiting for them.
	deliveriesMu sync.Mutex
	draining     bool
	deliveries   sync.WaitGroup

	stopped  chan struct{} // closed when Stop begins
	stopOnce sync.Once
	stopErr  error
	received atomic.Uint64 // envelopes the intake took
}

// StartRemote starts Proto.Actor remote on system, which must be the system
// rt runs on (actor.Config.System) and must not have a remote yet, and
// spawns the intake that serves peers' envelopes to rt.
//
// For each envelope the intake decodes it with rt.Types().Decode (grants
// included: see Trust), delivers it with rt.Deliver until its deadline
// (RemoteConfig.RequestTimeout when it has none), and answers the sender
// with an intentpb.Reply: the intent id, intent.Status of the outcome, and
// the reply message as an Any. The intake only queues each intent to its
// reactor (Runtime.DeliverFunc) and the reactor's goroutine sends the
// answer, so a slow reactor never holds up the intake and no goroutine waits
// per intent; a timer answers DEADLINE_EXCEEDED for an intent its reactor
// has not answered by its deadline.
// Malformed envelopes are answered INVALID_ARGUMENT, unknown intent types
// NOT_FOUND; neither reaches a mailbox.
func StartRemote(system *protoactor.ActorSystem, rt *actor.Runtime, cfg RemoteConfig) (*Remote, error) {
	if system == nil || rt == nil {
		return nil, invalidRemote("StartRemote needs an actor system and a runtime")
	}
	if rt.System() != system {
		return nil, invalidRemote("the runtime does not run on this actor system (create it with actor.Config{System: system})")
	}
	if _, port, err := system.GetHostPort(); err != nil || port >= 0 {
		// A system without a remote has Proto.Actor's placeholder address
		// and no port.
		return nil, invalidRemote("actor system %s already has a remote at %s", system.ID, system.Address())
	}
	s, err := cfg.settle()
	if err != nil {
		return nil, err
	}
	opts := []remote.ConfigOption{
		remote.WithServerOptions(s.serverOptions()...),
		remote.WithDialOptions(s.dialOptions()...),
	}
	if s.advertise != "" {
		// Proto.Actor uses the "advertised host" as the whole address.
		opts = append(opts, remote.WithAdvertisedHost(s.advertise))
	}
	rc := remote.Configure(s.host, s.port, opts...)
	rc.MaxRetryCount = s.attempts
	r := &Remote{system: system, rt: rt, log: s.logger, settings: s, stopped: make(chan struct{}), connected: map[string]struct{}{}}
	r.remote = remote.NewRemote(system, rc)
	if err := start(r.remote); err != nil {
		return nil, err
	}
	r.address = system.Address()
	// Subscribe, not SubscribeWithPredicate: the latter sets the predicate
	// after the subscription is visible to publishers, a data race.
	r.events = system.EventStream.Subscribe(r.endpointEvent)
	// The intake only hands envelopes to goroutines, so it runs on the
	// goroutine that posts to it (Proto.Actor's reader of the peer's
	// connection) instead of costing a hop of its own.
	props := protoactor.PropsFromProducer(func() protoactor.Actor { return &intake{r: r} },
		protoactor.WithDispatcher(protoactor.NewSynchronizedDispatcher(intakeThroughput)))
	if r.intake, err = system.Root.SpawnNamed(props, IntakeName); err != nil {
		r.shutdown()
		return nil, fmt.Errorf("cluster: spawning the intake: %w", err)
	}
	if s.tls == nil {
		r.log.Warn("remote transport is plaintext: any process that reaches it is trusted as a member and can send intents with any grants; configure RemoteConfig.TLS",
			slog.String("address", r.address))
	}
	r.log.Info("remote started", slog.String("address", r.address), slog.Bool("tls", s.tls != nil))
	return r, nil
}

// start starts Proto.Actor remote, which panics when it cannot listen.
func start(rm *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: starting the remote transport: %v", intent.ErrUnavailable, p)
		}
	}()
	rm.Start()
	return nil
}

// Address is the host:port peers reach this node's actors at: the bound
// address (with the port actually picked when RemoteConfig.Bind's was 0) or
// RemoteConfig.Advertise.
func (r *Remote) Address() string { return r.address }

// Received reports how many envelopes the intake has taken from peers,
// answered or not.
func (r *Remote) Received() uint64 { return r.received.Load() }

// Request sends env to the intake of the node at address (host:port) and
// waits for its reply until ctx ends or the envelope's deadline passes, or
// RemoteConfig.RequestTimeout when neither has one. The envelope travels
// with its own deadline; ctx bounds only the wait, as with
// actor.Runtime.Deliver.
//
// The reply message is decoded from the global protobuf registry. Errors
// are the remote outcome rebuilt by intent.StatusError, so errors.Is and
// errors.As work as for a local Request (a denial is a
// *capability.DeniedError); intent.ErrUnavailable when the peer cannot be
// reached, has no intake or its connection is lost; intent.ErrDeadlineExceeded;
// intent.ErrInvalid or intent.ErrTooLarge for an envelope that cannot be
// sent; ErrRemoteStopped.
func (r *Remote) Request(ctx context.Context, address string, env *intent.Envelope) (proto.Message, error) {
	select {
	case <-r.stopped:
		return nil, ErrRemoteStopped
	default:
	}
	if env != nil && env.ID == "" {
		return nil, fmt.Errorf("%w: envelope without an id (build it with Runtime.NewEnvelope)", intent.ErrInvalid)
	}
	if _, _, err := net.SplitHostPort(address); err != nil {
		return nil, fmt.Errorf("%w: address %q is not host:port", intent.ErrInvalid, address)
	}
	pb, err := env.Encode()
	if err != nil {
		return nil, err
	}
	if n := proto.Size(pb); n > intent.MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: envelope %s is %d bytes, limit %d", intent.ErrTooLarge, env.ID, n, intent.MaxEnvelopeBytes)
	}
	// Wait until ctx ends, or the envelope's deadline if that comes first
	// (an envelope made by NewEnvelope under ctx has ctx's deadline: no
	// timer then), or RequestTimeout when neither has a deadline.
	var expired <-chan time.Time
	if wait, ok := r.wait(ctx, env); ok {
		if wait <= 0 {
			return nil, intent.ErrDeadlineExceeded
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}

	r.sending.RLock()
	select {
	case <-r.stopped:
		r.sending.RUnlock()
		return nil, ErrRemoteStopped
	default:
	}
	p, done := r.send(address, pb)
	r.sending.RUnlock()
	defer done()

	select {
	case m := <-p.replies:
		return answer(address, env.ID, m)
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return nil, intent.ErrDeadlineExceeded
		}
		return nil, ctx.Err()
	case <-expired:
		return nil, intent.ErrDeadlineExceeded
	case <-r.stopped:
		return nil, ErrRemoteStopped
	}
}

// send sends msg to the intake at address with a new reply process as the
// sender, and returns the process; done removes it.
func (r *Remote) send(address string, msg proto.Message) (p *replyProcess, done func()) {
	p = &replyProcess{address: address, replies: make(chan any, 1)}
	registry := r.system.ProcessRegistry
	// Process ids are unique (NextId is a counter), so Add cannot fail.
	pid, _ := registry.Add(p, replyPrefix+registry.NextId())
	// Pending first, then the peer's state: endpointEvent updates the
	// state first, then marks the pending processes, so a connection made
	// meanwhile is seen by one side or the other.
	r.pending.Store(p, struct{}{})
	if up, ok := r.peers.Load(address); ok && up.(*atomic.Bool).Load() {
		p.connected.Store(true)
	}
	r.system.Root.RequestWithCustomSender(r.intakeAt(address), msg, pid)
	return p, func() {
		r.pending.Delete(p)
		registry.Remove(pid)
	}
}

// intakeAt returns the PID of the intake at address.
func (r *Remote) intakeAt(address string) *protoactor.PID {
	if pid, ok := r.intakes.Load(address); ok {
		return pid.(*protoactor.PID)
	}
	pid, _ := r.intakes.LoadOrStore(address, protoactor.NewPID(address, IntakeName))
	return pid.(*protoactor.PID)
}

// wait is how long Request waits beyond what ctx bounds, if at all.
func (r *Remote) wait(ctx context.Context, env *intent.Envelope) (time.Duration, bool) {
	end, bounded := ctx.Deadline()
	switch {
	case !env.Deadline.IsZero() && (!bounded || env.Deadline.Before(end)):
		return time.Until(env.Deadline), true
	case !bounded && env.Deadline.IsZero():
		return r.settings.requestTimeout, true
	}
	return 0, false
}

// replyPrefix starts the id of every reply process.
const replyPrefix = "packetflow-reply"

// replyProcess receives the answer to one Request: a process of our own in
// the actor system's registry rather than a Proto.Actor future, whose late
// replies race with its reader. It keeps the first answer in a buffered
// channel and drops every other without blocking, so an answer arriving
// after the Request gave up is dropped, never raced with; once the Request
// returns it is removed from the registry and later answers are dead
// letters.
type replyProcess struct {
	address string
	replies chan any // capacity 1
	// connected is set once a connection to the peer is known to exist
	// while the request is pending (see Remote.send and endpointEvent).
	connected atomic.Bool
}

func (p *replyProcess) SendUserMessage(_ *protoactor.PID, m any) {
	p.offer(protoactor.UnwrapEnvelopeMessage(m))
}

func (p *replyProcess) SendSystemMessage(*protoactor.PID, any) {}

func (p *replyProcess) Stop(*protoactor.PID) {}

func (p *replyProcess) offer(m any) {
	select {
	case p.replies <- m:
	default:
	}
}

// connectionLost is what a replyProcess is offered when Proto.Actor reports
// the connection to its peer terminated. connected says whether a
// connection to the peer existed at any point while the request was
// pending: without one the envelope never left this node.
type connectionLost struct{ connected bool }

// endpointEvent handles Proto.Actor's connection events. It runs on the
// publisher's goroutine and does not block.
//
// When Proto.Actor reports the connection to a peer terminated (it could not
// connect, the connection broke, or the peer is shutting down), the replies
// of the Requests in flight to that peer cannot come: they fail at once.
//
// Proto.Actor's endpoint manager handles the same events in a subscription
// made just before this one, so on the same goroutine and just before it, and
// reads its connection table there; Shutdown clears that table without
// synchronisation. Taking eventsMu here and in Stop before Shutdown orders
// every event handled before Stop began before the table is cleared. An event
// that arrives while Stop runs is not covered: that race is Proto.Actor's.
func (r *Remote) endpointEvent(m any) {
	var lost string
	r.eventsMu.Lock()
	defer r.eventsMu.Unlock()
	switch ev := m.(type) {
	case *remote.EndpointConnectedEvent:
		r.connected[ev.Address] = struct{}{}
		r.peerUp(ev.Address).Store(true)
		r.pending.Range(func(k, _ any) bool {
			if p := k.(*replyProcess); p.address == ev.Address {
				p.connected.Store(true)
			}
			return true
		})
		return
	case *remote.EndpointTerminatedEvent:
		lost = ev.Address
		delete(r.connected, lost)
		r.peerUp(lost).Store(false)
	default:
		return
	}
	r.pending.Range(func(k, _ any) bool {
		if p := k.(*replyProcess); p.address == lost {
			p.offer(connectionLost{connected: p.connected.Load()})
		}
		return true
	})
}

// peerUp returns the connection state of the peer at address.
func (r *Remote) peerUp(address string) *atomic.Bool {
	if up, ok := r.peers.Load(address); ok {
		return up.(*atomic.Bool)
	}
	up, _ := r.peers.LoadOrStore(address, new(atomic.Bool))
	return up.(*atomic.Bool)
}

// answer turns what a reply process received into Request's result.
func answer(address, id string, m any) (proto.Message, error) {
	switch m := m.(type) {
	case *intentpb.Reply:
		return ReplyOutcome(address, id, m)
	case *protoactor.DeadLetterResponse:
		return nil, fmt.Errorf("%w: no intake answers at %s (unreachable, or not serving intents)", ErrNotDelivered, address)
	case connectionLost:
		if !m.connected {
			return nil, fmt.Errorf("%w: no connection to %s could be made for intent %s", ErrNotDelivered, address, id)
		}
		return nil, fmt.Errorf("%w: the connection to %s was lost before intent %s was answered (outcome unknown)", intent.ErrUnavailable, address, id)
	default:
		return nil, fmt.Errorf("cluster: %s answered intent %s with a %T", address, id, m)
	}
}

// intake is the actor peers send envelopes to. It only hands each one to a
// delivery goroutine, so its mailbox never waits for a reactor, and it must
// never block: it runs on the goroutine of whoever posts to it.
type intake struct{ r *Remote }

// intakeThroughput is how many envelopes the intake takes in one mailbox
// turn before it yields.
const intakeThroughput = 300

func (in *intake) Receive(c protoactor.Context) {
	switch m := c.Message().(type) {
	case *intentpb.Envelope:
		in.r.accept(m, c.Sender())
	case *clusterpb.Flush:
		if sender := c.Sender(); sender != nil {
			in.r.system.Root.Send(sender, &clusterpb.Flushed{})
		}
	case protoactor.SystemMessage, protoactor.AutoReceiveMessage:
	default:
		if sender := c.Sender(); sender != nil {
			in.r.system.Root.Send(sender, &intentpb.Reply{Status: intent.Status(
				fmt.Errorf("%w: the intake takes %s, not %T", intent.ErrInvalid, "packetflow.intent.v1.Envelope", m))})
		}
	}
}

// accept starts the delivery of pb, or answers UNAVAILABLE once Stop has
// begun.
func (r *Remote) accept(pb *intentpb.Envelope, sender *protoactor.PID) {
	r.received.Add(1)
	r.deliveriesMu.Lock()
	if r.draining {
		r.deliveriesMu.Unlock()
		r.reply(sender, &intentpb.Reply{IntentId: pb.GetId(), Status: intent.Status(ErrRemoteStopped), NotDelivered: true})
		return
	}
	r.deliveries.Add(1)
	r.deliveriesMu.Unlock()
	r.deliver(pb, sender)
}

// deliver decodes pb and hands it to the runtime without waiting: the
// reactor's goroutine answers sender when it is done (see inflight). It runs
// on the intake's goroutine and never blocks.
func (r *Remote) deliver(pb *intentpb.Envelope, sender *protoactor.PID) {
	d := &inflight{r: r, id: pb.GetId(), sender: sender}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("remote delivery panicked", slog.String("intent", pb.GetId()), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			d.finishWith(&intentpb.Reply{IntentId: pb.GetId(), Status: &intentpb.Status{
				Code: intentpb.Code_CODE_INTERNAL, Message: fmt.Sprintf("cluster: delivery of %s panicked: %v", pb.GetId(), p)}})
		}
	}()
	env, err := r.rt.Types().Decode(pb)
	if err != nil {
		d.finish(nil, err)
		return
	}
	wait := r.settings.requestTimeout
	if !env.Deadline.IsZero() {
		wait = time.Until(env.Deadline)
	}
	r.inflights.Store(d, struct{}{}) // so that Stop can answer it
	d.mu.Lock()
	d.timer = time.AfterFunc(max(wait, 0), func() { d.finish(nil, intent.ErrDeadlineExceeded) })
	d.mu.Unlock()
	r.rt.DeliverFunc(env, d.finish)
}

// inflight is one intent a peer sent, handed to the runtime and not yet
// answered. Exactly one of the reactor's outcome, its deadline timer and
// Stop answers the peer.
type inflight struct {
	r      *Remote
	id     string
	sender *protoactor.PID
	mu     sync.Mutex // guards done and timer
	done   bool
	timer  *time.Timer
}

// finish answers the peer with the outcome, once.
func (d *inflight) finish(msg proto.Message, err error) {
	d.finishWith(replyFor(d.id, msg, err))
}

func (d *inflight) finishWith(reply *intentpb.Reply) {
	d.mu.Lock()
	if d.done {
		d.mu.Unlock()
		return
	}
	d.done = true
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	r := d.r
	r.inflights.Delete(d)
	if reply.Status.GetCode() != intentpb.Code_CODE_OK {
		r.log.Debug("remote intent failed", slog.String("intent", d.id), slog.String("status", reply.Status.String()))
	}
	r.reply(d.sender, reply)
	r.deliveries.Done()
}

// reply sends reply to sender; a one-way envelope (no sender) gets none.
func (r *Remote) reply(sender *protoactor.PID, reply *intentpb.Reply) {
	if sender == nil {
		return
	}
	if _, known := r.answered.Load(sender.Address); !known {
		r.answered.Store(sender.Address, struct{}{})
	}
	r.system.Root.Send(sender, reply)
}

// flushTimeout bounds how long Stop waits for its peers to confirm a flush.
const flushTimeout = 2 * time.Second

// flush sends a Flush to every connected peer the intake answered and waits
// for each to answer, or to be lost, or flushTimeout. Messages between two
// nodes arrive in order, so an answer means the peer has received every
// reply sent to it before: Proto.Actor's shutdown would otherwise drop
// replies still queued for sending, and the peer could see this node
// disconnect before it sees its last replies.
func (r *Remote) flush() {
	var peers []string
	r.eventsMu.Lock()
	for address := range r.connected {
		if _, ok := r.answered.Load(address); ok && address != r.address {
			peers = append(peers, address)
		}
	}
	r.eventsMu.Unlock()
	if len(peers) == 0 {
		return
	}
	waiting := make([]*replyProcess, len(peers))
	for i, address := range peers {
		p, done := r.send(address, &clusterpb.Flush{})
		defer done()
		waiting[i] = p
	}
	timeout := time.NewTimer(flushTimeout)
	defer timeout.Stop()
	for i, p := range waiting {
		select {
		case <-p.replies:
		case <-timeout.C:
			r.log.Warn("peers did not confirm the flush; replies to them may be lost",
				slog.Int("unconfirmed", len(peers)-i), slog.Duration("timeout", flushTimeout))
			return
		}
	}
}

// Stop stops serving peers and shuts the transport down: Requests in flight
// fail with ErrRemoteStopped, the intake stops taking envelopes (peers then
// get intent.ErrUnavailable), intents already taken get up to
// RemoteConfig.DrainTimeout to be answered before the rest are answered
// UNAVAILABLE (outcome unknown: their reactors may still commit them), the
// peers answered are asked to confirm they received every reply (up to 2 s),
// and then Proto.Actor remote shuts down gracefully. Stop it before the
// runtime, so that intents in flight are answered. Idempotent; later calls
// return the first one's result.
func (r *Remote) Stop() error {
	r.stopOnce.Do(func() {
		close(r.stopped)
		r.sending.Lock() // wait for Requests handing envelopes to Proto.Actor
		r.sending.Unlock()
		if err := r.system.Root.StopFuture(r.intake).Wait(); err != nil {
			r.stopErr = fmt.Errorf("cluster: stopping the intake: %w", err)
		}
		r.deliveriesMu.Lock()
		r.draining = true
		r.deliveriesMu.Unlock()
		if !wait.Group(&r.deliveries, r.settings.drainTimeout) {
			r.log.Warn("remote intents still in flight after the drain timeout; cancelling them", slog.Duration("drain_timeout", r.settings.drainTimeout))
		}
		// Answer what is still in flight: its reactor may yet commit it,
		// so the outcome is unknown to the peer.
		r.inflights.Range(func(k, _ any) bool {
			d := k.(*inflight)
			d.finish(nil, fmt.Errorf("%w: node stopped before intent %s was answered (outcome unknown)", intent.ErrUnavailable, d.id))
			return true
		})
		if !wait.Group(&r.deliveries, r.settings.drainTimeout) && r.stopErr == nil {
			r.stopErr = errors.New("cluster: remote deliveries did not end after cancellation")
		}
		r.flush()
		r.shutdown()
	})
	return r.stopErr
}

// shutdown unsubscribes and shuts Proto.Actor remote down.
func (r *Remote) shutdown() {
	r.eventsMu.Lock() // see endpointEvent
	r.eventsMu.Unlock()
	r.system.EventStream.Unsubscribe(r.events)
	r.remote.Shutdown(true)
	r.log.Info("remote stopped", slog.String("address", r.address))
}

// recoverUnary and recoverStream turn a panic in a gRPC handler of
// Proto.Actor's remote into an error for that call, so a peer cannot bring a
// node down with bad input (an unknown message type name, or the
// diagnostics calls Proto.Actor leaves unimplemented).
func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "%s panicked: %v", info.FullMethod, p)
		}
	}()
	return handler(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "%s panicked: %v", info.FullMethod, p)
		}
	}()
	return handler(srv, ss)
}
