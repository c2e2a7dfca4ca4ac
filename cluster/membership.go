package cluster

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Sentinel errors. Every error of this package matches one of them with
// errors.Is (a failed join also matches the context's error).
var (
	// ErrInvalidConfig: a MembershipConfig field is missing or malformed,
	// or the gossip metadata is too large (*MetaTooLargeError).
	ErrInvalidConfig = errors.New("cluster: invalid membership config")
	// ErrJoin: no peer of MembershipConfig.Join answered before the context
	// passed to StartMembership ended.
	ErrJoin = errors.New("cluster: could not join")
	// ErrStopped: the membership has left or was shut down.
	ErrStopped = errors.New("cluster: membership stopped")
)

const (
	// DefaultClusterName is the cluster name of a zero MembershipConfig.
	DefaultClusterName = "packetflow"
	// DefaultBind is the gossip address of a zero MembershipConfig.
	DefaultBind = "127.0.0.1:0"
	// DefaultTimeout bounds Leave and SetKinds when they are given no timeout.
	DefaultTimeout = 5 * time.Second
)

// Membership is this node's view of the cluster: memberlist running with
// PacketFlow's metadata, admission rules and event delivery. All methods are
// safe for concurrent use.
//
// Events are delivered by one goroutine that the Membership owns: memberlist's
// callbacks only append to a queue (they run under memberlist's own locks),
// and that goroutine updates the view Members returns and then calls the
// subscribers, in order. Leave and Shutdown stop it.
type Membership struct {
	cluster string
	name    string
	baseID  string // MembershipConfig.ID; fresh ids derive from it
	rejoin  bool   // MembershipConfig.Rejoin
	profile Profile
	logger  *slog.Logger
	admit   *admission
	ml      *memberlist.Memberlist

	// localMu guards local and meta, which SetKinds changes.
	localMu sync.Mutex
	local   Member
	meta    []byte

	// queueMu guards queue (what memberlist reported, oldest first) and
	// queueClosed.
	queueMu     sync.Mutex
	queue       []notification
	queueClosed bool
	wake        chan struct{} // capacity 1: the queue may be non-empty
	stop        chan struct{} // closed by Shutdown
	loopDone    chan struct{} // closed when the delivery goroutine returns

	// viewMu guards view: the live members by node name, as delivered.
	viewMu sync.RWMutex
	view   map[string]Member

	// Owned by the delivery goroutine.
	subs      []*subscriber
	departing map[string]struct{}  // ids that announced their departure
	told      map[string]time.Time // ids told they were declared dead: when

	// downMu guards dead (see downing.go).
	downMu sync.Mutex
	dead   map[string]deadPeer // by node name: declared dead, not back
	// Owned by the reconnect goroutine.
	generation   int         // fresh ids taken
	rejoinSignal chan string // capacity 1: the id to rejoin from
	// dial is the transport's: reconnect checks that a dead member's
	// address answers before asking memberlist to join it.
	dial          func(addr string, timeout time.Duration) (net.Conn, error)
	reconnectDone chan struct{} // closed when the reconnect goroutine returns

	// ackMu guards acks: the nodes that confirmed this member's departure.
	ackMu     sync.Mutex
	acks      map[string]struct{}
	ackSignal chan struct{} // capacity 1

	// lifeMu serializes Leave, SetKinds and Shutdown, and guards stopped.
	lifeMu  sync.Mutex
	stopped bool
}

type noteKind uint8

const (
	noteLive      noteKind = iota // memberlist's NotifyJoin or NotifyUpdate
	noteGone                      // memberlist's NotifyLeave: dead or left
	noteDeparture                 // a member announced it is leaving
	noteSubscribe
	noteBarrier
	noteZombie   // a member whose id was declared dead is alive
	noteDowned   // a peer says it declared this member dead
	noteRejoined // this member took a fresh id
)

type notification struct {
	kind noteKind
	// noteLive, noteZombie: the member; noteGone: Name; noteDeparture: Name,
	// ID; noteDowned: the sender's Name and ID; noteRejoined: the new self.
	member Member
	old    Member // noteRejoined: the old self
	id     string // noteDowned: the id declared dead
	live   int    // noteDowned: how many live members the sender sees
	sub    *subscriber
	done   chan struct{} // noteBarrier
}

type subscriber struct {
	fn        func(Event)
	cancelled atomic.Bool
}

// StartMembership starts memberlist with cfg and, when cfg.Join lists peers,
// joins them, retrying with backoff (from Profile.ProbeInterval, doubling up
// to ten times it) until one answers or ctx ends; a single attempt may
// overrun ctx by up to Profile.TCPTimeout per unreachable peer. ctx bounds
// only the start. When StartMembership returns, Members includes this node
// and every member the join reported.
func StartMembership(ctx context.Context, cfg MembershipConfig) (_ *Membership, err error) {
	transport := cfg.Transport
	defer func() {
		if err != nil && transport != nil {
			_ = transport.Shutdown()
		}
	}()
	s, err := cfg.settle()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJoin, err)
	}
	m := &Membership{
		cluster:   s.cluster,
		name:      s.local.Name,
		baseID:    s.local.ID,
		rejoin:    s.rejoin,
		profile:   s.profile,
		logger:    s.logger,
		admit:     newAdmission(s.cluster, s.logger),
		local:     s.local,
		meta:      s.meta,
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		view:      make(map[string]Member),
		departing: make(map[string]struct{}),
		told:      make(map[string]time.Time),
		acks:      make(map[string]struct{}),
		ackSignal: make(chan struct{}, 1),

		dead:          make(map[string]deadPeer),
		rejoinSignal:  make(chan string, 1),
		reconnectDone: make(chan struct{}),
	}
	m.admit.zombie = func(peer Member) { m.enqueue(notification{kind: noteZombie, member: peer}) }

	c := memberlist.DefaultLANConfig()
	c.Name = s.local.Name
	c.Label = s.cluster
	s.profile.apply(c)
	c.SecretKey = s.key
	c.Logger = log.New(memberlistLog{s.logger}, "", 0)
	c.Delegate = hooks{m}
	c.Events = hooks{m}
	c.Alive = m.admit
	c.Merge = m.admit
	if transport == nil {
		nt, err := listen(s, c.Logger)
		if err != nil {
			return nil, err
		}
		transport = nt
		c.BindAddr, c.BindPort = s.bindHost, nt.GetAutoBindPort()
		if s.advHost != "" {
			c.AdvertiseAddr, c.AdvertisePort = s.advHost, s.advPort
			if s.advPort == 0 {
				c.AdvertisePort = c.BindPort
			}
		}
	}
	c.Transport = transport
	m.dial = transport.DialTimeout
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("cluster: starting memberlist: %w", err)
	}
	transport = nil // memberlist shuts it down from now on
	m.ml = ml
	m.localMu.Lock()
	m.local.Gossip = ml.LocalNode().Address()
	m.localMu.Unlock()
	go m.deliver()
	go m.reconnect()
	m.flush(time.Time{})
	if len(s.join) > 0 {
		if err := m.join(ctx, s.join); err != nil {
			m.Shutdown()
			return nil, err
		}
		m.flush(time.Time{})
	}
	m.logger.Info("cluster: member started", "cluster", m.cluster, "node", m.name, "id", m.baseID,
		"gossip", m.Local().Gossip, "members", len(m.Members()))
	return m, nil
}

// listen opens the UDP and TCP sockets on the Bind address. With port 0 the
// kernel picks a TCP port that may be taken for UDP, so that is retried.
func listen(s settings, logger *log.Logger) (*memberlist.NetTransport, error) {
	attempts := 1
	if s.bindPort == 0 {
		attempts = 10
	}
	var err error
	for range attempts {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{s.bindHost},
			BindPort:  s.bindPort,
			Logger:    logger,
		})
		if err == nil {
			return nt, nil
		}
	}
	return nil, fmt.Errorf("cluster: listening for gossip on %s: %w", net.JoinHostPort(s.bindHost, strconv.Itoa(s.bindPort)), err)
}

// Join contacts peers (gossip addresses as in MembershipConfig.Join) and
// retries with backoff, as StartMembership does, until one answers or ctx
// ends. When it returns nil, Members includes every member the join
// reported. Use it to start a membership alone (no MembershipConfig.Join)
// and join later, for example after serving health checks. It returns
// ErrStopped after Leave or Shutdown.
func (m *Membership) Join(ctx context.Context, peers []string) error {
	if len(peers) == 0 {
		return invalid("Join needs at least one peer")
	}
	for _, p := range peers {
		if p == "" {
			return invalid("empty peer address in Join")
		}
	}
	select {
	case <-m.stop:
		return ErrStopped
	default:
	}
	if err := m.join(ctx, peers); err != nil {
		select {
		case <-m.stop:
			return ErrStopped
		default:
		}
		return err
	}
	m.flush(time.Time{})
	return nil
}

func (m *Membership) join(ctx context.Context, peers []string) error {
	backoff := m.profile.ProbeInterval
	for attempt := 1; ; attempt++ {
		n, err := m.ml.Join(peers)
		if n > 0 {
			return nil
		}
		m.logger.Info("cluster: no peer answered; retrying", "peers", peers, "attempt", attempt, "retry_in", backoff, "error", err)
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w %v: %w (last attempt: %v)", ErrJoin, peers, ctx.Err(), err)
		case <-m.stop:
			timer.Stop()
			return ErrStopped
		case <-timer.C:
		}
		backoff = min(2*backoff, 10*m.profile.ProbeInterval)
	}
}

// Local returns this node as a member; after Leave its Status is
// StatusLeft, after Shutdown StatusDead.
func (m *Membership) Local() Member {
	m.localMu.Lock()
	defer m.localMu.Unlock()
	return m.local.clone()
}

// Members returns the live members, this node included, sorted by ID: the
// view as of the last delivered event (or later). A member stays in it,
// with StatusAlive, until memberlist declares it dead or left. After Leave
// or Shutdown it is the last view.
func (m *Membership) Members() []Member {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return sortedCopies(m.view)
}

// Subscribe calls fn with every membership event from now on, starting with
// an EventJoined for each member live at that point, so that nothing falls
// between a snapshot and the first event. cancel stops the calls: none
// starts after it returns, though one in progress finishes. cancel may be
// called more than once and from fn. After Leave or Shutdown, Subscribe does
// nothing.
//
// All subscribers are called one at a time, in event order, from the
// membership's delivery goroutine. fn must return promptly: while it runs no
// other subscriber hears anything (events are queued, never dropped), and a
// fn that never returns keeps Leave and Shutdown from returning. fn must not
// call Leave or Shutdown itself (they wait for the delivery goroutine);
// start a goroutine for that. A panic in fn is logged and recovered.
func (m *Membership) Subscribe(fn func(Event)) (cancel func()) {
	s := &subscriber{fn: fn}
	if !m.enqueue(notification{kind: noteSubscribe, sub: s}) {
		return func() {}
	}
	return func() { s.cancelled.Store(true) }
}

// SetKinds changes the reactor kinds this node advertises and waits, at
// most timeout (zero: DefaultTimeout), until the change has been gossiped;
// peers report EventUpdated. When that wait times out the new kinds are in
// effect anyway and gossip spreads them later. Kinds that do not fit the
// metadata limit leave everything unchanged and return a *MetaTooLargeError.
func (m *Membership) SetKinds(kinds []string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.stopped {
		return ErrStopped
	}
	ks, err := normalizeKinds(kinds)
	if err != nil {
		return err
	}
	m.localMu.Lock()
	next := m.local.clone()
	next.Kinds = ks
	meta, err := encodeMeta(m.cluster, next)
	if err == nil {
		m.local, m.meta = next, meta
	}
	m.localMu.Unlock()
	if err != nil {
		return err
	}
	if err := m.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("cluster: gossiping new kinds: %w", err)
	}
	return nil
}

// Leave leaves the cluster gracefully and shuts the membership down, within
// timeout (zero: DefaultTimeout). It first tells every peer that it is
// leaving and waits, for at most half the timeout, for each to confirm; then
// memberlist broadcasts the leave. Peers that confirmed report EventLeft;
// any that did not (unreachable, partitioned) report EventDied. Subscribers
// of this membership receive this member's own EventLeft before Leave
// returns. Leave returns an error when the leave broadcast did not go out in
// time, but shuts down regardless; after Leave or Shutdown it returns
// ErrStopped.
func (m *Membership) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.stopped {
		return ErrStopped
	}
	start := time.Now()
	deadline := start.Add(timeout)
	self := m.Local()
	m.enqueue(notification{kind: noteDeparture, member: Member{Name: m.name, ID: self.ID}})
	m.announceDeparture(start.Add(timeout / 2))
	var err error
	if lerr := m.ml.Leave(max(time.Until(deadline), time.Millisecond)); lerr != nil {
		err = fmt.Errorf("cluster: leaving: %w", lerr)
	}
	m.flush(deadline)
	m.logger.Info("cluster: membership stopped after leaving", "node", m.name, "id", self.ID, "took", time.Since(start))
	m.shutdownLocked(StatusLeft)
	return err
}

// Shutdown stops the membership without telling anyone: peers find out by
// probing and report EventDied. It stops memberlist and the delivery
// goroutine (events not yet delivered are dropped) and returns when both
// have stopped. Calling it again does nothing.
func (m *Membership) Shutdown() {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.shutdownLocked(StatusDead)
}

func (m *Membership) shutdownLocked(final Status) {
	if m.stopped {
		return
	}
	m.stopped = true
	if err := m.ml.Shutdown(); err != nil {
		m.logger.Warn("cluster: stopping memberlist", "error", err)
	}
	m.queueMu.Lock()
	m.queueClosed = true
	m.queue = nil
	m.queueMu.Unlock()
	close(m.stop)
	<-m.loopDone
	<-m.reconnectDone
	m.localMu.Lock()
	m.local.Status = final
	m.localMu.Unlock()
}

// announceDeparture sends a Departure to every live peer until each
// confirms, is no longer live, or until passes. Best-effort packets, resent
// every ProbeTimeout: a lost one only costs a resend.
func (m *Membership) announceDeparture(until time.Time) {
	notice := departureNotice(m.cluster, m.Local())
	deadline := time.NewTimer(time.Until(until))
	defer deadline.Stop()
	resend := time.NewTimer(0)
	defer resend.Stop()
	pending := make(map[string]*memberlist.Node)
	for {
		clear(pending)
		for _, n := range m.ml.Members() {
			if n.Name != m.name {
				node := *n
				pending[n.Name] = &node
			}
		}
		m.ackMu.Lock()
		for name := range m.acks {
			delete(pending, name)
		}
		m.ackMu.Unlock()
		if len(pending) == 0 {
			return
		}
		select {
		case <-m.ackSignal:
		case <-resend.C:
			for _, n := range pending {
				if err := m.ml.SendBestEffort(n, notice); err != nil {
					m.logger.Debug("cluster: sending departure", "to", n.Name, "error", err)
				}
			}
			resend.Reset(m.profile.ProbeTimeout)
		case <-deadline.C:
			m.logger.Warn("cluster: peers did not confirm this member's departure; they will report it dead",
				"peers", slices.Sorted(maps.Keys(pending)))
			return
		}
	}
}

// enqueue hands a notification to the delivery goroutine; false once stopped.
func (m *Membership) enqueue(n notification) bool {
	m.queueMu.Lock()
	if m.queueClosed {
		m.queueMu.Unlock()
		return false
	}
	m.queue = append(m.queue, n)
	m.queueMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// flush waits until the delivery goroutine has handled everything queued so
// far, the membership stops, or deadline (zero: none) passes.
func (m *Membership) flush(deadline time.Time) {
	done := make(chan struct{})
	if !m.enqueue(notification{kind: noteBarrier, done: done}) {
		return
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-done:
	case <-m.loopDone:
	case <-expired:
	}
}

// deliver is the delivery goroutine.
func (m *Membership) deliver() {
	defer close(m.loopDone)
	for {
		select {
		case <-m.stop:
			return
		case <-m.wake:
		}
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			m.queueMu.Lock()
			if len(m.queue) == 0 {
				m.queueMu.Unlock()
				break
			}
			n := m.queue[0]
			m.queue[0] = notification{}
			m.queue = m.queue[1:]
			m.queueMu.Unlock()
			m.handle(n)
		}
	}
}

func (m *Membership) handle(n notification) {
	switch n.kind {
	case noteLive:
		m.viewMu.Lock()
		old, known := m.view[n.member.Name]
		m.view[n.member.Name] = n.member
		m.viewMu.Unlock()
		switch {
		case !known:
			m.noteBack(n.member.Name)
			m.emit(Event{Kind: EventJoined, Member: n.member})
		case old.ID != n.member.ID:
			// The node restarted under the same name before memberlist
			// declared the old process dead: the old id is gone for good.
			m.emit(m.gone(old))
			m.noteBack(n.member.Name)
			m.emit(Event{Kind: EventJoined, Member: n.member})
		case !old.sameAs(n.member):
			m.emit(Event{Kind: EventUpdated, Member: n.member})
		}
	case noteGone:
		m.viewMu.Lock()
		old, known := m.view[n.member.Name]
		delete(m.view, n.member.Name)
		m.viewMu.Unlock()
		if known {
			ev := m.gone(old)
			if ev.Kind == EventDied {
				m.noteDied(old)
			}
			m.emit(ev)
		}
	case noteDeparture:
		m.viewMu.RLock()
		v, known := m.view[n.member.Name]
		m.viewMu.RUnlock()
		if known && v.ID == n.member.ID {
			m.departing[n.member.ID] = struct{}{}
		}
		if n.member.Name != m.name {
			m.confirmDeparture(n.member)
		}
	case noteSubscribe:
		m.subs = append(m.subs, n.sub)
		for _, mem := range m.Members() {
			m.call(n.sub, Event{Kind: EventJoined, Member: mem})
		}
	case noteBarrier:
		close(n.done)
	case noteZombie:
		m.tellDowned(n.member)
	case noteDowned:
		m.downed(n.member, n.live, n.id)
	case noteRejoined:
		m.rejoined(n.old, n.member)
	}
}

// gone is the event for a member memberlist no longer lists.
func (m *Membership) gone(old Member) Event {
	ev := Event{Kind: EventDied, Member: old}
	ev.Member.Status = StatusDead
	if _, ok := m.departing[old.ID]; ok {
		delete(m.departing, old.ID)
		ev = Event{Kind: EventLeft, Member: old}
		ev.Member.Status = StatusLeft
	}
	return ev
}

func (m *Membership) confirmDeparture(d Member) {
	for _, n := range m.ml.Members() {
		if n.Name == d.Name {
			if err := m.ml.SendBestEffort(n, departureAck(m.cluster, m.name, d.ID)); err != nil {
				m.logger.Debug("cluster: confirming departure", "to", d.Name, "error", err)
			}
			return
		}
	}
}

func (m *Membership) emit(ev Event) {
	m.logger.Info("cluster: member "+ev.Kind.String(), "node", ev.Member.Name, "id", ev.Member.ID,
		"address", ev.Member.Address, "kinds", ev.Member.Kinds)
	live := m.subs[:0]
	for _, s := range m.subs {
		if !s.cancelled.Load() {
			m.call(s, ev)
			live = append(live, s)
		}
	}
	clear(m.subs[len(live):])
	m.subs = live
}

func (m *Membership) call(s *subscriber, ev Event) {
	if s.cancelled.Load() {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			m.logger.Error("cluster: membership subscriber panicked", "event", ev.String(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	ev.Member = ev.Member.clone()
	s.fn(ev)
}
