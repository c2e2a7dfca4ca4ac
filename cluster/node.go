package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/intent"
)

// ErrNodeStopped is returned by a Node that is stopping or stopped.
var ErrNodeStopped = fmt.Errorf("%w: node stopped", intent.ErrUnavailable)

// ErrNoQuorum is returned (wrapped, and wrapping ErrNotDelivered) while a
// node sees fewer than a majority of the cluster's known members and
// SplitBrainKeepMajority is in effect.
var ErrNoQuorum = fmt.Errorf("%w: no quorum", ErrNotDelivered)

// SplitBrain says what a node does when it can reach only part of the
// cluster.
type SplitBrain uint8

const (
	// SplitBrainKeepMajority (the default) serves intents only while the
	// node sees a strict majority of the known members live. Known members
	// are the live ones plus those declared dead that no new process of the
	// same name has replaced; members that left gracefully are forgotten. A
	// partitioned minority therefore never activates identities whose owner
	// it cannot reach, while the majority takes them over. The cost: a
	// cluster that lost half its members or more stops serving until they
	// come back (restarted processes of the same names count as back), as
	// with Akka's keep-majority. One node alone is its own majority.
	SplitBrainKeepMajority SplitBrain = iota
	// SplitBrainKeepAll serves on every side of a partition: each side
	// places identities over the members it sees, so an identity may be
	// active on both sides at once. For caches and tests only.
	SplitBrainKeepAll
)

// NodeConfig configures a Node. The zero value (with Define) is a complete
// single-node cluster on free loopback ports.
type NodeConfig struct {
	// Name is the node's name, unique among live members. Zero: the host
	// name.
	Name string
	// ClusterName keeps clusters apart (see MembershipConfig.ClusterName).
	// Zero: "packetflow".
	ClusterName string
	// Define registers the node's capability schemas, intent types and
	// reactor kinds on its runtime before the node joins: the kinds it
	// registers are the kinds it hosts. Every member must register the same
	// intent types for the kinds it routes to. Nil: the node hosts nothing
	// and routes nothing.
	Define func(*actor.Runtime) error
	// MemberKinds are reactor kinds addressed to a member instead of
	// placed by hashing: an intent's identity names the member ("n2", or
	// "n2/rest" for an instance of the kind on n2), and it is delivered to
	// the live member of that name if that member hosts the kind, or
	// refused as not delivered. For per-member services such as the
	// component directory. Zero: none.
	MemberKinds []string
	// Bind is the actor remote's host:port (see RemoteConfig.Bind). Zero:
	// "127.0.0.1:0".
	Bind string
	// Advertise is the host:port peers dial for the actor remote when it
	// differs from Bind (see RemoteConfig.Advertise).
	Advertise string
	// TLS enables mutual TLS between members (see RemoteConfig.TLS).
	TLS *tls.Config
	// Gossip is memberlist's host:port (see MembershipConfig.Bind). Zero:
	// "127.0.0.1:0".
	Gossip string
	// GossipAdvertise is the gossip host:port peers use when it differs
	// from Gossip (see MembershipConfig.Advertise).
	GossipAdvertise string
	// GossipKey encrypts gossip (see MembershipConfig.SecretKey).
	GossipKey []byte
	// Join lists peers' gossip addresses. Zero: the node starts a cluster
	// of its own.
	Join []string
	// Profile is memberlist's timing. Zero: LANProfile().
	Profile Profile
	// SplitBrain says what a node does when it reaches only part of the
	// cluster. Zero: SplitBrainKeepMajority.
	SplitBrain SplitBrain
	// RequestTimeout bounds a Request whose context has no deadline. Zero:
	// 10s.
	RequestTimeout time.Duration
	// LeaveTimeout bounds Stop's graceful leave. Zero: DefaultTimeout.
	LeaveTimeout time.Duration
	// Runtime configures the node's runtime; its Name is replaced by the
	// node's name and its System must be nil. Zero: actor defaults.
	Runtime actor.Config
	// Transport starts the intent transport. Zero: Proto.Actor remote on
	// Bind (StartRemote).
	Transport NewTransport
	// GossipTransport carries memberlist's traffic (see
	// MembershipConfig.Transport). Zero: UDP and TCP on Gossip.
	GossipTransport memberlist.NodeAwareTransport
	// Logger receives the node's logs. Zero: warnings and errors to
	// standard error.
	Logger *slog.Logger
}

// Node is one member of a PacketFlow cluster: a runtime whose reactors are
// virtual actors addressed by (kind, identity), a membership that finds the
// other members by gossip, and a transport that carries intents to them.
//
// An intent sent through Request goes to the member that rendezvous hashing
// picks among the live members hosting its kind (Owner), where the reactor
// is activated on its first intent. When that member is lost its reactors
// re-activate on the survivors with their next intent. Every member
// computes the same owner from the same view, so the members agree once
// gossip has converged; while views differ an identity may briefly be
// active on two members (durable state will fence that).
//
// Request retries, within the caller's deadline, attempts that certainly
// did not reach a reactor (ErrNotDelivered: no owner, no quorum, the owner
// unreachable or stopping), waiting for the topology to change between
// attempts. An attempt whose outcome is unknown (the owner was lost
// mid-request) is retried only for types declared idempotent
// (intent.Spec.Idempotent); otherwise it fails with intent.ErrUnavailable.
type Node struct {
	rt        *actor.Runtime
	members   *Membership
	transport Transport
	log       *slog.Logger
	local     Member
	policy    SplitBrain
	pinned    map[string]bool // NodeConfig.MemberKinds
	timeout   time.Duration
	leave     time.Duration

	// joined is false while the node has peers to join and has not yet
	// reached one: it serves nothing until then.
	joined    atomic.Bool
	joinPeers []string
	view      atomic.Pointer[view]

	mu     sync.Mutex        // guards selfID, known, alive and view changes
	selfID string            // this member's current id
	known  map[string]Member // live and dead members, by id
	// alive holds a context per live member, cancelled when the member is
	// declared dead or left: requests to it are abandoned then, rather
	// than waiting for a connection that may never report its loss (a
	// SIGKILLed container's address simply stops answering).
	alive       map[string]memberLife
	unsubscribe func()

	stopped  chan struct{}
	stopOnce sync.Once
	stopErr  error

	// storeReady is closed once the runtime's store serves calls (a
	// replicated store waits for a quorum of members); nil: at once.
	storeReady <-chan struct{}
}

// ReadyStore is a store.Store that is not ready to serve calls at once (a
// replicated store forming its cluster): a node is not Ready before it is.
type ReadyStore interface{ Ready() <-chan struct{} }

// memberLife is the lifetime of one member as this node sees it.
type memberLife struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// errOwnerLost is the cause of a request context cancelled because its
// target member was declared dead or left.
var errOwnerLost = errors.New("cluster: owner lost")

// view is one immutable topology: the live members, the placement over
// them, and whether they are a quorum. changed is closed when the next view
// replaces it.
type view struct {
	self      string            // this member's id (fresh after a rejoin)
	live      map[string]Member // by id
	placement *Placement
	quorum    bool
	known     int
	changed   chan struct{}
}

// StartNode starts a node with cfg and, when cfg.Join lists peers, joins
// them, retrying until one answers or ctx ends (ctx bounds only the start).
// To serve health checks while joining, use NewNode and Join.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	n, err := NewNode(cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Join) > 0 {
		if err := n.Join(ctx); err != nil {
			n.Kill()
			return nil, err
		}
	}
	return n, nil
}

// NewNode starts a node's runtime, transport and membership. A node without
// cfg.Join is a complete single-node cluster at once; one with peers serves
// nothing (Ready is false, Request fails with ErrNotDelivered) until Join
// succeeds.
func NewNode(cfg NodeConfig) (_ *Node, err error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	name := cfg.Name
	if name == "" {
		if name, err = os.Hostname(); err != nil || name == "" {
			return nil, invalid("no node name and no host name: %v", err)
		}
	}
	if cfg.Runtime.System != nil {
		return nil, invalid("NodeConfig.Runtime.System must be nil: the node creates its actor system")
	}
	if cfg.SplitBrain > SplitBrainKeepAll {
		return nil, invalid("unknown split brain policy %d", cfg.SplitBrain)
	}
	if cfg.RequestTimeout < 0 || cfg.LeaveTimeout < 0 {
		return nil, invalid("negative timeout")
	}
	transport := cfg.GossipTransport
	defer func() {
		if err != nil && transport != nil {
			_ = transport.Shutdown()
		}
	}()
	n := &Node{
		log:     logger.With(slog.String("node", name)),
		policy:  cfg.SplitBrain,
		pinned:  map[string]bool{},
		timeout: cfg.RequestTimeout,
		leave:   cfg.LeaveTimeout,
		known:   map[string]Member{},
		alive:   map[string]memberLife{},
		stopped: make(chan struct{}),
	}
	if n.timeout == 0 {
		n.timeout = 10 * time.Second
	}
	for _, k := range cfg.MemberKinds {
		n.pinned[k] = true
	}
	rcfg := cfg.Runtime
	rcfg.Name = name
	// Two members may briefly both hold an activation of an instance
	// (membership changing): reads check that their state is current.
	rcfg.FencedReads = rcfg.Store != nil
	// Only the owner in this node's view activates an instance: an intent
	// sent on a peer's stale view is refused (safe to retry) rather than
	// handled by a second owner.
	rcfg.Admit = n.admit
	if rs, ok := rcfg.Store.(ReadyStore); ok {
		n.storeReady = rs.Ready()
	}
	if rcfg.Logger == nil {
		rcfg.Logger = logger
	}
	// Proto.Actor logs through the node's logger (it would otherwise write
	// coloured text of its own to standard output).
	rcfg.System = protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(system *protoactor.ActorSystem) *slog.Logger {
		return logger.With(slog.String("lib", "Proto.Actor"), slog.String("system", system.ID))
	}))
	if n.rt, err = actor.NewRuntime(rcfg); err != nil {
		return nil, err
	}
	undo := []func(){func() { _ = n.rt.Stop(); rcfg.System.Shutdown() }}
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if cfg.Define != nil {
		if err = cfg.Define(n.rt); err != nil {
			return nil, fmt.Errorf("cluster: defining node %s: %w", name, err)
		}
	}
	start := cfg.Transport
	if start == nil {
		start = func(rt *actor.Runtime) (Transport, error) {
			return StartRemote(rt.System(), rt, RemoteConfig{Bind: cfg.Bind, Advertise: cfg.Advertise, TLS: cfg.TLS, Logger: logger})
		}
	}
	if n.transport, err = start(n.rt); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = n.transport.Stop() })
	mcfg := MembershipConfig{
		ClusterName: cfg.ClusterName,
		NodeName:    name,
		ID:          n.rt.System().ID,
		Address:     n.transport.Address(),
		Kinds:       n.rt.Kinds(),
		Bind:        cfg.Gossip,
		Advertise:   cfg.GossipAdvertise,
		SecretKey:   cfg.GossipKey,
		Profile:     cfg.Profile,
		Rejoin:      true,
		Transport:   transport,
		Logger:      logger,
	}
	transport = nil // StartMembership owns it from now on
	if n.members, err = StartMembership(context.Background(), mcfg); err != nil {
		return nil, err
	}
	n.local = n.members.Local()
	n.selfID = n.local.ID
	n.joined.Store(len(cfg.Join) == 0)
	n.view.Store(&view{self: n.selfID, live: map[string]Member{}, placement: NewPlacement(nil), changed: make(chan struct{})})
	n.joinPeers = cfg.Join
	n.unsubscribe = n.members.Subscribe(n.observe)
	undo = append(undo, n.members.Shutdown)
	// The subscription starts with an event for this node: wait for it, so
	// that a node without peers serves as soon as NewNode returns.
	for v := n.view.Load(); ; v = n.view.Load() {
		if _, self := v.live[v.self]; self {
			break
		}
		select {
		case <-v.changed:
		case <-time.After(DefaultTimeout):
			return nil, fmt.Errorf("cluster: node %s did not see itself as a member within %v", name, DefaultTimeout)
		}
	}
	n.log.Info("node started", slog.String("id", n.local.ID), slog.String("address", n.local.Address),
		slog.String("gossip", n.local.Gossip), slog.Any("kinds", n.local.Kinds))
	return n, nil
}

// Join joins the peers of NodeConfig.Join, retrying until one answers or ctx
// ends; from then on the node serves intents. Without peers it returns nil
// at once.
func (n *Node) Join(ctx context.Context) error {
	if len(n.joinPeers) == 0 || n.joined.Load() {
		return nil
	}
	if err := n.members.Join(ctx, n.joinPeers); err != nil {
		return err
	}
	n.mu.Lock()
	n.joined.Store(true)
	n.publish()
	n.mu.Unlock()
	n.log.Info("node joined", slog.Any("peers", n.joinPeers), slog.Int("members", len(n.Members())))
	return nil
}

// observe folds a membership event into the node's view. It runs on the
// membership's delivery goroutine, one event at a time.
func (n *Node) observe(ev Event) {
	n.mu.Lock()
	m := ev.Member
	downed := false
	switch ev.Kind {
	case EventJoined, EventUpdated:
		if m.Name == n.local.Name {
			n.selfID = m.ID
		}
		// A new process of a name replaces that name's dead member in the
		// quorum count.
		for id, old := range n.known {
			if old.Name == m.Name && id != m.ID && !old.Status.Live() {
				delete(n.known, id)
			}
		}
		n.known[m.ID] = m
		if _, ok := n.alive[m.ID]; !ok {
			ctx, cancel := context.WithCancel(context.Background())
			n.alive[m.ID] = memberLife{ctx, cancel}
		}
	case EventLeft:
		delete(n.known, m.ID)
		n.lost(m.ID)
	case EventDied:
		n.known[m.ID] = m
		n.lost(m.ID)
		// Peers declared this member dead: it rejoins under a fresh id,
		// and its reactors, moved to other members meanwhile, are no
		// longer its own.
		downed = m.Name == n.local.Name && m.ID == n.selfID
	}
	n.publish()
	n.mu.Unlock()
	n.log.Info("membership changed", slog.String("event", ev.String()))
	if downed {
		n.log.Warn("this member was declared dead by its peers: deactivating every reactor; it rejoins under a fresh id")
	}
	n.rebalance(downed)
}

// rebalance deactivates the local reactor instances this node does not
// own in its current view (all of them when all is set): after a change
// of members each instance has one owner, whose activation recovers the
// committed state. Intents queued at a deactivated instance are refused
// as not applied and their senders route them again.
func (n *Node) rebalance(all bool) {
	for kind, identity := range n.rt.Active() {
		if all || n.admit(kind, identity) != nil {
			n.rt.Deactivate(kind, identity)
		}
	}
}

// admit is the runtime's Config.Admit: an instance is activated only on
// its owner in this node's view.
func (n *Node) admit(kind, identity string) error {
	v := n.view.Load()
	if v == nil {
		return fmt.Errorf("%w: node %s is starting", ErrNotDelivered, n.local.Name)
	}
	owner, err := n.owner(v, kind, identity)
	if err != nil {
		return err
	}
	if owner.ID != v.self {
		return fmt.Errorf("%w: member %s owns it in this node's view", ErrNotDelivered, owner.Name)
	}
	return nil
}

// lost abandons the requests in flight to member id. n.mu is held.
func (n *Node) lost(id string) {
	if life, ok := n.alive[id]; ok {
		life.cancel()
		delete(n.alive, id)
	}
}

// life returns the lifetime of member id: a cancelled context once it is
// gone.
func (n *Node) life(id string) context.Context {
	n.mu.Lock()
	defer n.mu.Unlock()
	if life, ok := n.alive[id]; ok {
		return life.ctx
	}
	return closedContext
}

var closedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// publish replaces the view with one built from known. n.mu is held.
func (n *Node) publish() {
	live := map[string]Member{}
	hosts := map[string][]string{}
	for id, m := range n.known {
		if m.Status.Live() {
			live[id] = m
			hosts[id] = m.Kinds
		}
	}
	next := &view{
		self:      n.selfID,
		live:      live,
		placement: NewPlacement(hosts),
		known:     len(n.known),
		quorum:    n.policy == SplitBrainKeepAll || 2*len(live) > len(n.known),
		changed:   make(chan struct{}),
	}
	old := n.view.Swap(next)
	close(old.changed)
}

// Runtime is the node's runtime: its capability schemas, intent types,
// kinds and counters. Its Request delivers only to local reactors; use the
// node's Request to route across the cluster.
func (n *Node) Runtime() *actor.Runtime { return n.rt }

// Local is this node as a member.
func (n *Node) Local() Member { return n.members.Local() }

// Members returns the live members, this node included, sorted by id.
func (n *Node) Members() []Member { return n.members.Members() }

// KnownMembers returns the members this node counts for its quorum, sorted
// by id: the live ones and those declared dead that no new process of the
// same name has replaced yet (with StatusDead). Members that left are not
// among them.
func (n *Node) KnownMembers() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	return sortedCopies(n.known)
}

// Subscribe calls fn with every membership event; see Membership.Subscribe.
func (n *Node) Subscribe(fn func(Event)) (cancel func()) { return n.members.Subscribe(fn) }

// Ready reports whether the node serves intents: it has joined, it is not
// stopping, its state store serves calls (see ReadyStore), and (with
// SplitBrainKeepMajority) it sees a majority of the known members.
func (n *Node) Ready() bool {
	select {
	case <-n.stopped:
		return false
	default:
	}
	if n.storeReady != nil {
		select {
		case <-n.storeReady:
		default:
			return false
		}
	}
	v := n.view.Load()
	_, self := v.live[v.self]
	return n.joined.Load() && self && v.quorum
}

// Owner returns the member that hosts (kind, identity) in this node's
// current view. The error wraps ErrNotDelivered when no member can take it
// now (not joined, no quorum, no live member hosts the kind).
func (n *Node) Owner(kind, identity string) (Member, error) {
	return n.owner(n.view.Load(), kind, identity)
}

func (n *Node) owner(v *view, kind, identity string) (Member, error) {
	switch {
	case !n.joined.Load():
		return Member{}, fmt.Errorf("%w: node %s has not joined its peers yet", ErrNotDelivered, n.local.Name)
	case !v.quorum:
		return Member{}, fmt.Errorf("%w: node %s sees %d of %d known members", ErrNoQuorum, n.local.Name, len(v.live), v.known)
	}
	if n.pinned[kind] {
		return memberOwner(v, kind, identity)
	}
	id, ok := v.placement.Owner(kind, identity)
	if !ok {
		return Member{}, fmt.Errorf("%w: no live member hosts reactor kind %q", ErrNotDelivered, kind)
	}
	return v.live[id], nil
}

// memberOwner is the owner of an instance of a member kind: the live
// member its identity names.
func memberOwner(v *view, kind, identity string) (Member, error) {
	name, _, _ := strings.Cut(identity, "/")
	for _, m := range v.live {
		if m.Name == name {
			if !slices.Contains(m.Kinds, kind) {
				return Member{}, fmt.Errorf("%w: member %s does not host reactor kind %q", ErrNotDelivered, name, kind)
			}
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("%w: no live member named %q for reactor kind %q", ErrNotDelivered, name, kind)
}

// Request sends msg as an intent on behalf of caller to the reactor it
// addresses, wherever in the cluster that is, and waits for the reply until
// ctx ends (NodeConfig.RequestTimeout when ctx has no deadline). See Node
// for retries and Remote.Request for the errors.
func (n *Node) Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error) {
	if _, bounded := ctx.Deadline(); !bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.timeout)
		defer cancel()
	}
	env, err := n.rt.NewEnvelope(ctx, caller, msg)
	if err != nil {
		return nil, err
	}
	return n.Deliver(ctx, env)
}

// Deliver routes an envelope built by Runtime.NewEnvelope to its owner, as
// Request does.
func (n *Node) Deliver(ctx context.Context, env *intent.Envelope) (proto.Message, error) {
	if env == nil || env.Type == nil {
		return nil, fmt.Errorf("%w: nil envelope or envelope without a type", intent.ErrInvalid)
	}
	identity, err := env.Type.Identity(env.Message)
	if err != nil {
		return nil, err
	}
	kind := env.Type.Kind()
	var backoff *time.Timer
	defer func() {
		if backoff != nil {
			backoff.Stop()
		}
	}()
	for attempt := 1; ; attempt++ {
		select {
		case <-n.stopped:
			return nil, ErrNodeStopped
		default:
		}
		v := n.view.Load()
		var reply proto.Message
		owner, err := n.owner(v, kind, identity)
		if err == nil {
			if owner.ID == v.self {
				reply, err = n.rt.Deliver(ctx, env)
			} else {
				reply, err = n.remote(ctx, owner, env)
			}
			if err == nil {
				return reply, nil
			}
		}
		if !retryable(env.Type, err) {
			return nil, err
		}
		n.log.Debug("intent not delivered; retrying", slog.String("intent", env.ID), slog.Int("attempt", attempt), slog.Any("err", err))
		pause := retryPause(attempt)
		if backoff == nil {
			backoff = time.NewTimer(pause)
		} else {
			backoff.Reset(pause)
		}
		select {
		case <-v.changed:
		case <-backoff.C:
		case <-n.stopped:
			return nil, ErrNodeStopped
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no member took intent %s before its deadline (%d attempts; last: %w)", intent.ErrUnavailable, env.ID, attempt, err)
		}
	}
}

// remote sends env to owner, abandoning the wait when owner is declared
// dead or leaves: the outcome is then unknown.
func (n *Node) remote(ctx context.Context, owner Member, env *intent.Envelope) (proto.Message, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(n.life(owner.ID), func() { cancel(errOwnerLost) })
	reply, err := n.transport.Request(rctx, owner.Address, env)
	stop()
	cancel(nil)
	if err != nil && errors.Is(context.Cause(rctx), errOwnerLost) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: member %s was lost before it answered intent %s (outcome unknown)", intent.ErrUnavailable, owner.Name, env.ID)
	}
	return reply, err
}

// retryable reports whether an attempt that failed with err may be made
// again: when it certainly reached no reactor, or when its outcome is
// unknown and the type is idempotent.
func retryable(t *intent.Type, err error) bool {
	switch {
	case errors.Is(err, ErrNodeStopped), errors.Is(err, ErrRemoteStopped), errors.Is(err, actor.ErrStopped):
		return false
	case errors.Is(err, intent.ErrNotApplied):
		return true
	case errors.Is(err, intent.ErrUnavailable):
		return t.Idempotent()
	}
	return false
}

// retryPause is how long Deliver waits after a failed attempt unless the
// topology changes first: 10 ms doubling to 320 ms, with jitter.
func retryPause(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt-1, 5)
	return d/2 + rand.N(d/2+1)
}

// Stop leaves the cluster gracefully (peers stop routing here), stops the
// transport (intents already taken are answered) and then the runtime.
// Idempotent; later calls return the first one's result.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		close(n.stopped)
		n.unsubscribe()
		var errs []error
		if err := n.members.Leave(n.leave); err != nil && !errors.Is(err, ErrStopped) {
			errs = append(errs, err)
		}
		errs = append(errs, n.transport.Stop(), n.rt.Stop())
		n.rt.System().Shutdown()
		n.stopErr = errors.Join(errs...)
		n.log.Info("node stopped")
	})
	return n.stopErr
}

// Kill stops the node at once, as a crash would look to its peers: it stops
// gossiping without leaving (peers declare it dead once they detect it),
// then stops its transport and runtime. For tests and fault injection.
// Idempotent, and Stop after Kill does nothing.
func (n *Node) Kill() {
	n.stopOnce.Do(func() {
		close(n.stopped)
		n.unsubscribe()
		n.members.Shutdown()
		n.stopErr = errors.Join(n.transport.Stop(), n.rt.Stop())
		n.rt.System().Shutdown()
		n.log.Info("node killed")
	})
}
