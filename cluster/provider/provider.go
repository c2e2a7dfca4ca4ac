package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/packetflow/packetflow/cluster"
)

// ErrStarted: StartMember or StartClient was called on a Provider that had
// already started.
var ErrStarted = errors.New("provider: already started")

// DefaultStartTimeout bounds StartMember and StartClient when
// Config.StartTimeout is zero: long enough for the peers of Join to come up
// when a whole cluster starts at once.
const DefaultStartTimeout = 30 * time.Second

// Config configures a Provider. The zero value starts a cluster of one on
// 127.0.0.1 with LAN timing.
type Config struct {
	// Membership configures the gossip membership (see
	// cluster.MembershipConfig). Its ID, Address and Kinds are taken from
	// the Proto.Actor cluster and ignored here. NodeName's zero value is the
	// actor system's remote address (host:port), unique among running
	// processes by construction; Logger's is the actor system's logger.
	// Give Proto.Actor clusters a ClusterName of their own: every member of
	// the gossip cluster that hosts a kind is offered to Proto.Actor as a
	// member that serves it. The provider owns Membership.Transport: a
	// provider that shuts down without having started, or fails to start,
	// shuts it down.
	Membership cluster.MembershipConfig
	// StartTimeout bounds StartMember and StartClient, joining included.
	// Zero: DefaultStartTimeout.
	StartTimeout time.Duration
	// LeaveTimeout bounds the Membership's Leave in a graceful Shutdown.
	// Zero: cluster.DefaultTimeout.
	LeaveTimeout time.Duration
}

// invalid is an error matching cluster.ErrInvalidConfig.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{cluster.ErrInvalidConfig}, args...)...)
}

// Provider is a Proto.Actor cluster provider (protoactor-go/cluster's
// ClusterProvider) on this package's Membership: Proto.Actor cluster
// members and clients find each other by memberlist gossip rather than a
// registry such as Consul or etcd.
//
// PacketFlow's own node does not need it: it places reactors with its own
// rendezvous Placement over a Membership, so that an intent reaches a
// reactor only through the capability-checked mailbox. The Provider is for
// code that uses Proto.Actor's cluster directly — grains, cluster.Request,
// identity lookup (disthash and the like), pub-sub — and wants the same
// gossip membership, failure detection and encryption instead of an
// external registry:
//
//	provider := provider.New(provider.Config{Membership: cluster.MembershipConfig{Join: seeds}})
//	config := protocluster.Configure("shop", provider, disthash.New(),
//		remote.Configure("0.0.0.0", 8090, remote.WithAdvertisedHost("shop-1:8090")),
//		protocluster.WithKinds(kinds...))
//	c := protocluster.New(system, config)
//	c.StartMember()
//	defer provider.Shutdown(false) // after c.Shutdown: see Shutdown
//	defer c.Shutdown(true)
//
// # What Proto.Actor sees
//
// The member id is the actor system's ID (fresh for every process start, as
// a Membership requires), the member address is the actor system's remote
// address, and the kinds are the cluster's kinds. On every membership event
// the Provider hands Proto.Actor's MemberList the full set of live members
// that host at least one kind (MemberList.UpdateClusterTopology), from the
// Membership's own event goroutine, so the updates keep the order of the
// events. A member stays in that set while it is alive or merely suspect,
// and leaves it only once memberlist declares it dead or left — the one
// moment Proto.Actor may hear of it, since Proto.Actor blocks a member id
// for good once it is reported gone.
//
// Proto.Actor keeps a member's address and kinds for the member's life: if
// a live member changes its kinds (Membership.SetKinds) its MemberList does
// not follow, and the Provider logs a warning.
//
// # Clients
//
// A Proto.Actor client (Cluster.StartClient) hosts no kinds and is not a
// member: Proto.Actor's own providers do not register it, so no member
// places on it, gossips to it or waits for it in consensus. memberlist has
// no listen-only mode, so a client's Provider joins the gossip as a member
// with no kinds, and every Provider, a client's included, leaves members
// with no kinds out of the topology it hands Proto.Actor. A Proto.Actor
// member always has a kind (Proto.Actor adds its pub-sub topic kind), so
// this leaves out exactly the clients, and any kind-less node of another
// sort on the same gossip cluster.
//
// # Races in Proto.Actor
//
// Proto.Actor's MemberList reads the remote's block list without the lock
// under which the handler of its own cluster gossip rewrites it, and
// disthash swaps its placement table without synchronisation with the
// lookups of cluster.Request. Any provider's topology update races with
// those, as the race detector reports once members gossip with each other
// or grains are called while the topology changes; the provider's own state
// is synchronised.
//
// All methods are safe for concurrent use.
type Provider struct {
	cfg        Config
	membership atomic.Pointer[cluster.Membership]

	// lifeMu serializes StartMember, StartClient and Shutdown, and guards
	// the fields below.
	lifeMu      sync.Mutex
	started     bool
	stopped     bool
	unsubscribe func()

	// topoMu orders topology updates with Shutdown, and guards the fields
	// below.
	topoMu   sync.Mutex
	closed   bool                // Shutdown began: no update starts any more
	ready    chan struct{}       // closed by the first update; nil after it
	reported map[string]struct{} // ids in the last topology handed over
	badAddr  map[string]struct{} // ids whose address was logged as unusable
}

var _ protocluster.ClusterProvider = (*Provider)(nil)

// New returns a Provider that starts when Proto.Actor's cluster calls
// StartMember or StartClient.
func New(cfg Config) *Provider {
	cfg.Membership.Join = append([]string(nil), cfg.Membership.Join...)
	cfg.Membership.SecretKey = append([]byte(nil), cfg.Membership.SecretKey...)
	return &Provider{cfg: cfg}
}

// Membership returns the provider's Membership, or nil before it started:
// its members and events are the raw material of Proto.Actor's topology
// (Members lists kind-less clients too).
func (p *Provider) Membership() *cluster.Membership { return p.membership.Load() }

// StartMember joins the gossip cluster as a member hosting c's kinds, and
// returns once Proto.Actor's MemberList lists the members the join found.
// Proto.Actor's Cluster.StartMember calls it once its remote is listening,
// and panics with the error; an error also ends the provider (StartMember
// cannot be retried). The error matches cluster.ErrInvalidConfig (a bad
// Config, or an actor system address peers cannot dial), cluster.ErrJoin
// (no peer of Join answered within StartTimeout), cluster.ErrStopped or
// ErrStarted, unless memberlist itself failed to start.
func (p *Provider) StartMember(c *protocluster.Cluster) error { return p.start(c, false) }

// StartClient joins the gossip cluster as a member with no kinds, which no
// Provider reports to Proto.Actor (see Clients above), and returns once
// Proto.Actor's MemberList lists the members the join found. Otherwise as
// StartMember.
func (p *Provider) StartClient(c *protocluster.Cluster) error { return p.start(c, true) }

func (p *Provider) start(c *protocluster.Cluster, client bool) (err error) {
	role := "member"
	if client {
		role = "client"
	}
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	switch {
	case p.stopped:
		return fmt.Errorf("%w: the Proto.Actor cluster provider was shut down or failed to start", cluster.ErrStopped)
	case p.started:
		return ErrStarted
	}
	p.started = true
	handedOver := false
	defer func() {
		if err == nil {
			return
		}
		p.stopped = true
		if !handedOver && p.cfg.Membership.Transport != nil {
			_ = p.cfg.Membership.Transport.Shutdown()
		}
		err = fmt.Errorf("provider: starting the Proto.Actor cluster provider as a %s: %w", role, err)
	}()
	if c == nil || c.ActorSystem == nil || c.MemberList == nil {
		return invalid("the Proto.Actor cluster has no actor system or member list (build it with cluster.New)")
	}
	address := c.ActorSystem.Address()
	host, port, err := c.ActorSystem.GetHostPort()
	switch {
	case err != nil || port <= 0:
		return invalid("the actor system's address %q is not host:port (Proto.Actor's Cluster.StartMember and StartClient start the remote, and with it the address, before the provider)", address)
	case host == "" || net.ParseIP(host).IsUnspecified():
		return invalid("the actor system's address %q is not one peers can dial (advertise one: remote.WithAdvertisedHost)", address)
	}
	var kinds []string
	if !client {
		kinds = c.GetClusterKinds()
	}
	logger := p.cfg.Membership.Logger
	if logger == nil {
		logger = c.ActorSystem.Logger()
	}
	name := p.cfg.Membership.NodeName
	if name == "" {
		name = address
	}
	timeout := p.cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	handedOver = true
	mc := p.cfg.Membership
	mc.NodeName, mc.ID, mc.Address, mc.Kinds, mc.Logger = name, c.ActorSystem.ID, address, kinds, logger
	m, err := cluster.StartMembership(ctx, mc)
	if err != nil {
		return err
	}
	p.membership.Store(m)

	ready := make(chan struct{})
	p.topoMu.Lock()
	p.ready = ready
	p.reported = make(map[string]struct{})
	p.badAddr = make(map[string]struct{})
	p.topoMu.Unlock()
	list := c.MemberList
	p.unsubscribe = m.Subscribe(func(ev cluster.Event) { p.update(list, m, ev, logger) })
	select {
	case <-ready:
	case <-ctx.Done():
		logger.Warn("provider: Proto.Actor's member list was not updated before the start timeout; it will be on the next event",
			"timeout", timeout)
	}
	logger.Info("provider: Proto.Actor cluster provider started", "role", role, "id", c.ActorSystem.ID,
		"address", address, "gossip", m.Local().Gossip, "kinds", kinds)
	return nil
}

// update hands Proto.Actor the topology after ev. It runs on the
// Membership's delivery goroutine, one event at a time in event order, and
// so reads in m.Members exactly the view that ev left.
func (p *Provider) update(list *protocluster.MemberList, m *cluster.Membership, ev cluster.Event, logger *slog.Logger) {
	p.topoMu.Lock()
	defer p.topoMu.Unlock()
	if p.closed {
		return
	}
	if _, ok := p.reported[ev.Member.ID]; ok && ev.Kind == cluster.EventUpdated {
		logger.Warn("provider: a member changed its address or kinds; Proto.Actor keeps those of its start until it leaves",
			"node", ev.Member.Name, "id", ev.Member.ID, "address", ev.Member.Address, "kinds", ev.Member.Kinds)
	}
	members := p.topology(m.Members(), logger)
	clear(p.reported)
	for _, mem := range members {
		p.reported[mem.Id] = struct{}{}
	}
	list.UpdateClusterTopology(members)
	if p.ready != nil {
		close(p.ready)
		p.ready = nil
	}
}

// maxBadAddrRemembered bounds Provider.badAddr.
const maxBadAddrRemembered = 1024

// topology converts the live members that host a kind into Proto.Actor
// members. Members whose address is not host:port with a numeric port
// (other PacketFlow members need not have one Proto.Actor can dial) are
// left out and logged once. Called with topoMu held.
func (p *Provider) topology(ms []cluster.Member, logger *slog.Logger) protocluster.Members {
	out := make(protocluster.Members, 0, len(ms))
	for _, m := range ms {
		if !m.Status.Live() || len(m.Kinds) == 0 {
			continue
		}
		host, portText, err := net.SplitHostPort(m.Address)
		port, perr := strconv.ParseUint(portText, 10, 16)
		if err != nil || perr != nil || host == "" || port == 0 {
			if _, logged := p.badAddr[m.ID]; !logged {
				if len(p.badAddr) >= maxBadAddrRemembered {
					clear(p.badAddr)
				}
				p.badAddr[m.ID] = struct{}{}
				logger.Warn("provider: leaving a member out of Proto.Actor's topology: its address is not host:port",
					"node", m.Name, "id", m.ID, "address", m.Address)
			}
			continue
		}
		out = append(out, &protocluster.Member{
			Id:    m.ID,
			Host:  host,
			Port:  int32(port),
			Kinds: m.Kinds, // Members returned a copy
		})
	}
	return out
}

// Shutdown stops the provider: no topology update starts after Shutdown
// begins, and none is in progress when it returns. Graceful, it leaves the
// gossip cluster (Membership.Leave, within LeaveTimeout), so peers report
// this member left at once; otherwise it stops gossiping and peers report
// it dead once they detect it. Either way it returns when the Membership
// and every goroutine it ran have stopped, and it returns Leave's error, if
// any. Before a start it ends the provider (a later start fails with
// cluster.ErrStopped) and shuts Config.Transport down; called again it does
// nothing.
//
// Proto.Actor's Cluster.Shutdown calls it only when graceful: after
// Cluster.Shutdown(false), call Shutdown(false) yourself, or the membership
// keeps gossiping. Do not call it from a membership subscriber or from a
// ClusterTopology subscriber of the actor system's event stream: both run
// on the goroutine it waits for.
func (p *Provider) Shutdown(graceful bool) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.stopped {
		return nil
	}
	p.stopped = true
	p.topoMu.Lock()
	p.closed = true
	p.topoMu.Unlock()
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
	m := p.membership.Load()
	if m == nil {
		if p.cfg.Membership.Transport != nil {
			_ = p.cfg.Membership.Transport.Shutdown()
		}
		return nil
	}
	var err error
	if graceful {
		if lerr := m.Leave(p.cfg.LeaveTimeout); lerr != nil && !errors.Is(lerr, cluster.ErrStopped) {
			err = fmt.Errorf("provider: Proto.Actor cluster provider: %w", lerr)
		}
	}
	m.Shutdown()
	return err
}
