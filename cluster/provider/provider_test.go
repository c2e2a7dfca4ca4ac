package provider_test

// The Provider tests run Proto.Actor's cluster against memberships on
// clustertest's in-memory network. Proto.Actor's remote.Start replaces
// gRPC's global logger, which races with any gRPC goroutine already running
// in the process (see remote_test.go), so a process may start one remote in
// its life:
//
//   - Most tests build a Proto.Actor Cluster whose remote never starts: they
//     give its actor system an address by hand and call the provider's
//     StartMember or StartClient themselves, as Cluster.StartMember would.
//     That exercises the real MemberList (its topology events and block
//     list) with no gRPC at all. Such a cluster has no kinds (Proto.Actor
//     fills them in only inside Cluster.StartMember), so, like a client, it
//     does not appear in its own topology.
//   - TestProviderServesGrainCalls and TestProviderPlacesGrainsOnTwoMembers
//     run real Proto.Actor members — remote, gossip, disthash identity
//     lookup, a grain kind — one per process: the test binary re-executed
//     (TestProviderScenarioProcess), which fails if the scenario fails,
//     races or leaves goroutines behind (see cluster/internal/providerproc).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/cluster/internal/providerproc"
	"github.com/packetflow/packetflow/cluster/provider"
)

// Deadlines: a few gossip rounds, and failure detection with the Fast
// profile (about 1 s); generous for -race on two cores.
const (
	providerConverge = 5 * time.Second
	providerDetect   = 10 * time.Second
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func TestProviderReportsTheMembersOfTheGossipCluster(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	seeds := nw.StartMemberships(t, 2, func(i int, cfg *cluster.MembershipConfig) {
		cfg.Kinds = [][]string{{"order", "cart"}, {"order"}}[i]
	})
	clustertest.WaitConverged(t, seeds, 2, providerConverge)

	p := provider.New(providerConfig(t, nw, "pa", seeds[0].Local().Gossip))
	c := newUnstartedCluster(t, "127.0.0.1:7001")
	topo := recordTopology(t, c, p)
	require.NoError(t, p.StartMember(c))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(false)) })

	// StartMember returns once the MemberList lists what the join found.
	first, ok := topo.latest()
	require.True(t, ok, "StartMember returned before the first topology")
	assert.Equal(t, map[string]paMember{
		"n1-1": {ID: "n1-1", Host: "n1.invalid", Port: 8090, Kinds: []string{"cart", "order"}},
		"n2-2": {ID: "n2-2", Host: "n2.invalid", Port: 8090, Kinds: []string{"order"}},
	}, first.members)
	local := p.Membership().Local()
	assert.Equal(t, c.ActorSystem.ID, local.ID, "the member id is the actor system's")
	assert.Equal(t, "127.0.0.1:7001", local.Address, "the member address is the actor system's")
	assert.Equal(t, "pa", local.Name)

	// A kind-less member (a Proto.Actor client, say) joins, then one that
	// hosts a kind: the second shows up, the first never does.
	client := nw.Start(t, cluster.MembershipConfig{Join: []string{local.Gossip}})
	more := nw.Start(t, cluster.MembershipConfig{Kinds: []string{"cart"}, Join: []string{local.Gossip}})
	got := topo.waitFor(t, 0, providerConverge, "n4 joined", func(e topologyEntry) bool { return e.has(more.Local().ID) })
	assert.Equal(t, paMember{ID: "n4-4", Host: "n4.invalid", Port: 8090, Kinds: []string{"cart"}}, got.members["n4-4"])
	assert.Contains(t, got.view, client.Local().Name, "the client is a member of the gossip cluster")
	for _, e := range topo.entries() {
		assert.False(t, e.has(client.Local().ID), "a member with no kinds was reported to Proto.Actor")
		assert.False(t, e.has(local.ID), "this cluster has no kinds, so it is not in its own topology")
	}
	assert.Len(t, got.members, 3)
}

func TestProviderDropsAMemberOnlyOnceItLeftOrDied(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	p := provider.New(providerConfig(t, nw, "pa"))
	c := newUnstartedCluster(t, "127.0.0.1:7001")
	topo := recordTopology(t, c, p)
	require.NoError(t, p.StartMember(c))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(false)) })
	gossip := p.Membership().Local().Gossip
	ms := nw.StartMemberships(t, 3, func(_ int, cfg *cluster.MembershipConfig) {
		cfg.Kinds = []string{"order"}
		cfg.Join = []string{gossip}
	})
	clustertest.WaitConverged(t, append(ms, p.Membership()), 4, providerConverge)
	topo.waitFor(t, 0, providerConverge, "all three", func(e topologyEntry) bool { return len(e.members) == 3 })
	n1, n2, n3 := ms[0].Local(), ms[1].Local(), ms[2].Local()

	// A member that leaves is gone at once, and Proto.Actor blocks its id.
	from := topo.len()
	require.NoError(t, ms[0].Leave(0))
	left := topo.waitFor(t, from, providerConverge, "n1 gone", func(e topologyEntry) bool { return !e.has(n1.ID) })
	assert.Equal(t, []string{n1.ID}, left.left)
	assert.Contains(t, left.blocked, n1.ID)
	assert.True(t, left.has(n2.ID) && left.has(n3.ID))

	// A member cut off by a partition turns suspect, then dead: it stays in
	// the topology until the membership declares it dead, which takes at
	// least the suspicion timeout.
	from = topo.len()
	cut := time.Now()
	nw.Partition([]string{n2.Name})
	dead := topo.waitFor(t, from, providerDetect, "n2 gone", func(e topologyEntry) bool { return !e.has(n2.ID) })
	assert.GreaterOrEqual(t, dead.at.Sub(cut), cluster.FastProfile().SuspicionTimeout(3),
		"n2 was dropped before it could have been declared dead")
	assert.NotContains(t, dead.view, n2.Name, "n2 was dropped while the membership still listed it")
	assert.Equal(t, []string{n2.ID}, dead.left)

	// A killed member likewise.
	from = topo.len()
	clustertest.Kill(ms[2])
	dead = topo.waitFor(t, from, providerDetect, "n3 gone", func(e topologyEntry) bool { return !e.has(n3.ID) })
	assert.NotContains(t, dead.view, n3.Name)
	assert.Empty(t, dead.members)
}

func TestProviderNeverReportsAnotherCluster(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	cfg := providerConfig(t, nw, "pa")
	cfg.Membership.ClusterName = "shop"
	p := provider.New(cfg)
	c := newUnstartedCluster(t, "127.0.0.1:7001")
	topo := recordTopology(t, c, p)
	require.NoError(t, p.StartMember(c))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(false)) })
	gossip := p.Membership().Local().Gossip

	// A member of another cluster cannot join this one...
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := cluster.StartMembership(ctx, nw.Prepare(cluster.MembershipConfig{
		ClusterName: "other", NodeName: "f1", ID: "f1", Kinds: []string{"order"}, Join: []string{gossip},
		Logger: clustertest.Logger(t, slog.LevelInfo),
	}))
	require.ErrorIs(t, err, cluster.ErrJoin)

	// ...nor a provider join another cluster.
	foreign := nw.Start(t, cluster.MembershipConfig{ClusterName: "other", NodeName: "f2", Kinds: []string{"order"}})
	cfg = providerConfig(t, nw, "pb", foreign.Local().Gossip)
	cfg.Membership.ClusterName = "shop"
	cfg.StartTimeout = time.Second
	stray := provider.New(cfg)
	err = stray.StartMember(newUnstartedCluster(t, "127.0.0.1:7002"))
	require.ErrorIs(t, err, cluster.ErrJoin)
	assert.NoError(t, stray.Shutdown(false))

	// A member of this cluster, joining last, shows the others were seen
	// and refused rather than not yet seen.
	own := nw.Start(t, cluster.MembershipConfig{ClusterName: "shop", Kinds: []string{"order"}, Join: []string{gossip}})
	topo.waitFor(t, 0, providerConverge, "the shop member", func(e topologyEntry) bool { return e.has(own.Local().ID) })
	for _, e := range topo.entries() {
		assert.Len(t, e.members, 1, "only the shop member: %v", e.members)
	}
	assert.Len(t, foreign.Members(), 1, "the other cluster kept to itself")
}

func TestProviderAsClientSeesMembersAndIsNotOne(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	seeds := nw.StartMemberships(t, 2, func(i int, cfg *cluster.MembershipConfig) {
		if i == 0 {
			cfg.Kinds = []string{"order"}
		}
	})
	p := provider.New(providerConfig(t, nw, "pc", seeds[0].Local().Gossip))
	c := newUnstartedCluster(t, "127.0.0.1:7003")
	topo := recordTopology(t, c, p)
	require.NoError(t, p.StartClient(c))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(true)) })

	assert.Empty(t, p.Membership().Local().Kinds, "a client hosts nothing")
	got, ok := topo.latest()
	require.True(t, ok)
	assert.Equal(t, map[string]paMember{
		"n1-1": {ID: "n1-1", Host: "n1.invalid", Port: 8090, Kinds: []string{"order"}},
	}, got.members, "the client sees the member that hosts a kind, not the kind-less one nor itself")
	require.Eventually(t, func() bool { return slices.ContainsFunc(seeds[0].Members(), isNamed("pc")) }, providerConverge, 10*time.Millisecond)
	i := slices.IndexFunc(seeds[0].Members(), isNamed("pc"))
	assert.Empty(t, seeds[0].Members()[i].Kinds, "members see the client with no kinds")
}

func TestProviderShutdown(t *testing.T) {
	t.Parallel()
	for _, graceful := range []bool{true, false} {
		t.Run("graceful="+strconv.FormatBool(graceful), func(t *testing.T) {
			t.Parallel()
			nw := clustertest.NewNetwork()
			p := provider.New(providerConfig(t, nw, "pa"))
			c := newUnstartedCluster(t, "127.0.0.1:7001")
			require.NoError(t, p.StartMember(c))
			peer := nw.Start(t, cluster.MembershipConfig{Kinds: []string{"order"}, Join: []string{p.Membership().Local().Gossip}})
			clustertest.WaitConverged(t, []*cluster.Membership{peer, p.Membership()}, 2, providerConverge)
			peerEvents := clustertest.Record(t, peer)

			require.NoError(t, p.Shutdown(graceful))
			want, status := cluster.EventDied, cluster.StatusDead
			if graceful {
				want, status = cluster.EventLeft, cluster.StatusLeft
			}
			peerEvents.WaitFor(t, providerDetect, want.String()+" pa", clustertest.Is(want, "pa"))
			assert.Equal(t, status, p.Membership().Local().Status)

			require.NoError(t, p.Shutdown(graceful), "again")
			require.ErrorIs(t, p.StartMember(c), cluster.ErrStopped)
		})
	}
}

func TestProviderUpdatesNothingOnceShutDown(t *testing.T) {
	t.Parallel()
	for _, graceful := range []bool{true, false} {
		t.Run("graceful="+strconv.FormatBool(graceful), func(t *testing.T) {
			t.Parallel()
			nw := clustertest.NewNetwork()
			p := provider.New(providerConfig(t, nw, "pa"))
			c := newUnstartedCluster(t, "127.0.0.1:7001")
			require.NoError(t, p.StartMember(c))
			peer := nw.Start(t, cluster.MembershipConfig{Kinds: []string{"order"}, Join: []string{p.Membership().Local().Gossip}})
			var returned, late atomic.Bool
			sub := c.ActorSystem.EventStream.Subscribe(func(evt any) {
				if _, ok := evt.(*protocluster.ClusterTopology); ok && returned.Load() {
					late.Store(true)
				}
			})
			defer c.ActorSystem.EventStream.Unsubscribe(sub)

			// Members join, and the provider hears of them, while it
			// shuts down.
			joined := make(chan *cluster.Membership, 4)
			for range cap(joined) {
				cfg := nw.Prepare(cluster.MembershipConfig{
					Kinds: []string{"order"}, Join: []string{peer.Local().Gossip}, Logger: clustertest.Logger(t, slog.LevelInfo),
				})
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), clustertest.StartTimeout)
					defer cancel()
					m, err := cluster.StartMembership(ctx, cfg)
					if err != nil {
						t.Errorf("starting %s: %v", cfg.NodeName, err)
					}
					joined <- m
				}()
			}
			require.NoError(t, p.Shutdown(graceful))
			returned.Store(true)
			var ms []*cluster.Membership
			for range cap(joined) {
				if m := <-joined; m != nil {
					t.Cleanup(m.Shutdown)
					ms = append(ms, m)
				}
			}
			// The others go on without it; by then its last chance to
			// deliver anything is long past.
			clustertest.WaitConverged(t, append(ms, peer), len(ms)+1, providerDetect)
			assert.False(t, late.Load(), "a topology update ran after Shutdown returned")
		})
	}
}

func TestProviderStartErrors(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()

	// Started twice.
	p := provider.New(providerConfig(t, nw, "pa"))
	c := newUnstartedCluster(t, "127.0.0.1:7001")
	require.NoError(t, p.StartMember(c))
	require.ErrorIs(t, p.StartMember(c), provider.ErrStarted)
	require.ErrorIs(t, p.StartClient(c), provider.ErrStarted)
	require.NoError(t, p.Shutdown(false))

	// An actor system without a remote has no address to advertise; the
	// failed provider has shut its transport down (the name is free again).
	p = provider.New(providerConfig(t, nw, "pb"))
	err := p.StartMember(newUnstartedCluster(t, ""))
	require.ErrorIs(t, err, cluster.ErrInvalidConfig)
	assert.ErrorContains(t, err, "nonhost")
	require.ErrorIs(t, p.StartMember(c), cluster.ErrStopped, "a failed start ends the provider")
	require.NoError(t, p.Shutdown(false))
	require.NoError(t, nw.Transport("pb").Shutdown())

	// Nor one listening on every interface without an advertised address.
	p = provider.New(providerConfig(t, nw, "pd"))
	err = p.StartMember(newUnstartedCluster(t, "0.0.0.0:8090"))
	require.ErrorIs(t, err, cluster.ErrInvalidConfig)
	assert.ErrorContains(t, err, "WithAdvertisedHost")

	// Shut down before it started: the transport is closed too.
	p = provider.New(providerConfig(t, nw, "pc"))
	require.NoError(t, p.Shutdown(true))
	require.ErrorIs(t, p.StartClient(c), cluster.ErrStopped)
	require.NoError(t, nw.Transport("pc").Shutdown())
	assert.Nil(t, p.Membership())
}

func TestProviderServesGrainCalls(t *testing.T) {
	t.Parallel()
	startProviderScenario(t, "grain").Wait(t)
}

func TestProviderPlacesGrainsOnTwoMembers(t *testing.T) {
	t.Parallel()
	seed := startProviderScenario(t, "seed")
	gossip := seed.WaitLine(t, providerGossipLine, 60*time.Second)
	startProviderScenario(t, "joiner", providerJoinEnv+"="+gossip).Wait(t)
	seed.Wait(t)
}

// providerGrainScenario runs a Proto.Actor member with the provider, a
// disthash identity lookup and an "echo" grain kind. It joins the gossip
// cluster through a plain kind-less membership (Proto.Actor would gossip to,
// and its remote redial for good, a member with kinds that it cannot
// reach); grain calls find their grains through the topology the provider
// delivered.
func providerGrainScenario(t *testing.T) {
	nw := clustertest.NewNetwork()
	seed := nw.Start(t, cluster.MembershipConfig{})
	seedEvents := clustertest.Record(t, seed)
	n := startEchoMember(t, providerConfig(t, nw, "pa", seed.Local().Gossip))

	got, ok := n.topo.latest()
	require.True(t, ok)
	host, port := splitHostPort(t, n.c.ActorSystem.Address())
	assert.Equal(t, map[string]paMember{
		n.id(): {ID: n.id(), Host: host, Port: port, Kinds: []string{"echo", protocluster.TopicActorKind}},
	}, got.members, "the member is in its own topology, with the cluster's kinds")
	seen := seedEvents.WaitFor(t, providerConverge, "pa joined", clustertest.Is(cluster.EventJoined, "pa"))
	assert.Equal(t, n.id(), seen.Member.ID)
	assert.Equal(t, n.c.ActorSystem.Address(), seen.Member.Address)
	assert.Equal(t, []string{"echo", protocluster.TopicActorKind}, seen.Member.Kinds)

	for _, who := range []string{"alice", "bob", "alice"} {
		assert.Equal(t, n.c.ActorSystem.Address(), n.echo(t, who))
	}

	n.shutdown()
	seedEvents.WaitFor(t, providerConverge, "pa left", clustertest.Is(cluster.EventLeft, "pa"))
	assert.Equal(t, cluster.StatusLeft, n.p.Membership().Local().Status)
}

// providerGossipLine prefixes the line on which the seed scenario reports
// its gossip address.
const providerGossipLine = "@provider-gossip "

// providerJoinEnv gives the joiner scenario the seed's gossip address.
const providerJoinEnv = "PACKETFLOW_PROVIDER_JOIN"

// providerSeedScenario runs an echo member gossiping on a loopback socket,
// prints its gossip address, and waits for its standard input to close;
// by then a joiner (providerJoinerScenario) must have joined and left.
func providerSeedScenario(t *testing.T) {
	cfg := provider.Config{Membership: cluster.MembershipConfig{NodeName: "seed", Profile: cluster.FastProfile(), Logger: clustertest.Logger(t, slog.LevelInfo)}}
	n := startEchoMember(t, cfg, quietGossip)
	fmt.Printf("%s%s\n", providerGossipLine, n.p.Membership().Local().Gossip)
	_, err := io.Copy(io.Discard, os.Stdin)
	require.NoError(t, err)
	came := n.topo.waitFor(t, 0, providerConverge, "with the joiner", func(e topologyEntry) bool { return len(e.members) == 2 })
	var joiner string
	for id := range came.members {
		if id != n.id() {
			joiner = id
		}
	}
	gone := n.topo.waitFor(t, 0, providerConverge, "without the joiner", func(e topologyEntry) bool { return !e.has(joiner) && e.has(n.id()) && slices.Contains(e.left, joiner) })
	assert.Contains(t, gone.blocked, joiner, "Proto.Actor blocks a member that left")
}

// providerJoinerScenario runs an echo member that joins the seed's gossip
// cluster over loopback sockets and calls grains of both members.
func providerJoinerScenario(t *testing.T) {
	join := os.Getenv(providerJoinEnv)
	require.NotEmpty(t, join)
	cfg := provider.Config{Membership: cluster.MembershipConfig{NodeName: "joiner", Join: []string{join}, Profile: cluster.FastProfile(), Logger: clustertest.Logger(t, slog.LevelInfo)}}
	n := startEchoMember(t, cfg, quietGossip)
	both := n.topo.waitFor(t, 0, providerConverge, "with both members", func(e topologyEntry) bool { return len(e.members) == 2 })
	var seed paMember
	for id, m := range both.members {
		if id != n.id() {
			seed = m
		}
	}
	assert.Equal(t, []string{"echo", protocluster.TopicActorKind}, seed.Kinds)

	// Identities spread over both members by rendezvous hashing, and stay
	// where they were placed.
	placed := make(map[string]string)
	served := make(map[string]int)
	for i := range 16 {
		who := "user" + strconv.Itoa(i)
		placed[who] = n.echo(t, who)
		served[placed[who]]++
	}
	assert.Equal(t, 2, len(served), "grains were placed on %v", served)
	assert.Contains(t, served, net.JoinHostPort(seed.Host, strconv.Itoa(int(seed.Port))))
	for who, at := range placed {
		assert.Equal(t, at, n.echo(t, who), "%s moved", who)
	}
	n.shutdown()
}

// quietGossip stops Proto.Actor's own gossip between members (it would send
// its state every hour). Proto.Actor's MemberList reads the remote's block
// list without the lock under which the handler of that gossip rewrites it
// on every topology it receives (remote.BlockList.BlockedMembers in
// MemberList.UpdateClusterTopology, against BlockList.Block in the
// MemberList's GossipUpdate handler): with two members gossiping, every
// topology update from any provider races with it under -race. The
// membership is the provider's, and placement needs no Proto.Actor gossip.
func quietGossip(c *protocluster.Config) { c.GossipInterval = time.Hour }

// echoMember is a Proto.Actor cluster member hosting the "echo" kind on a
// Provider, with a disthash identity lookup.
type echoMember struct {
	p        *provider.Provider
	c        *protocluster.Cluster
	topo     *topologyLog
	shutdown func() // Cluster.Shutdown(true), once; also run when the test ends

	// endpointsMu orders the endpoint events handled before shutdown with
	// it. Proto.Actor's endpoint manager reads its connection table in its
	// handler of those events and clears it in Remote.Shutdown without
	// synchronisation (as cluster.Remote's Stop explains); a handler of ours,
	// subscribed after the endpoint manager's, takes endpointsMu on the same
	// goroutine, and shutdown takes it first. An event that arrives during
	// Cluster.Shutdown is not covered: that race is Proto.Actor's.
	endpointsMu sync.Mutex
}

func startEchoMember(t *testing.T, cfg provider.Config, opts ...protocluster.ConfigOption) *echoMember {
	p := provider.New(cfg)
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return clustertest.Logger(t, slog.LevelWarn).With("lib", "protoactor")
	}))
	echo := protocluster.NewKind("echo", protoactor.PropsFromProducer(func() protoactor.Actor { return &echoGrain{} }))
	config := protocluster.Configure("providertest", p, disthash.New(), remote.Configure("127.0.0.1", 0),
		append([]protocluster.ConfigOption{protocluster.WithKinds(echo)}, opts...)...)
	c := protocluster.New(system, config)
	n := &echoMember{p: p, c: c, topo: recordTopology(t, c, p)}
	c.StartMember() // starts the remote, and its endpoint manager's subscription
	sub := system.EventStream.Subscribe(func(evt any) {
		if _, ok := evt.(*remote.EndpointTerminatedEvent); ok {
			n.endpointsMu.Lock() // see endpointsMu
			n.endpointsMu.Unlock()
		}
	})
	n.shutdown = sync.OnceFunc(func() {
		n.endpointsMu.Lock() // see endpointsMu
		n.endpointsMu.Unlock()
		c.Shutdown(true)
		system.EventStream.Unsubscribe(sub)
	})
	t.Cleanup(n.shutdown)
	return n
}

func (n *echoMember) id() string { return n.c.ActorSystem.ID }

// echo calls the echo grain who and returns the address of the member
// that answered.
func (n *echoMember) echo(t *testing.T, who string) string {
	t.Helper()
	reply, err := n.c.Request(who, "echo", wrapperspb.String("hi"), protocluster.WithTimeout(10*time.Second))
	require.NoError(t, err, "calling %s", who)
	text := reply.(*wrapperspb.StringValue).GetValue()
	at, ok := strings.CutPrefix(text, who+": hi from ")
	require.True(t, ok, "reply %q", text)
	return at
}

// echoGrain answers a StringValue v with "<identity>: <v> from <address>".
type echoGrain struct{ identity string }

func (g *echoGrain) Receive(ctx protoactor.Context) {
	switch msg := ctx.Message().(type) {
	case *protocluster.ClusterInit:
		g.identity = msg.Identity.GetIdentity()
	case *wrapperspb.StringValue:
		ctx.Respond(wrapperspb.String(g.identity + ": " + msg.GetValue() + " from " + ctx.ActorSystem().Address()))
	}
}

// ---- scenario processes ----

var providerScenarios = map[string]func(*testing.T){
	"grain":  providerGrainScenario,
	"seed":   providerSeedScenario,
	"joiner": providerJoinerScenario,
}

// TestProviderScenarioProcess runs one provider scenario when the test
// binary was re-executed by startProviderScenario; otherwise it is skipped.
func TestProviderScenarioProcess(t *testing.T) {
	name := providerproc.Scenario()
	if name == "" {
		t.Skip("runs only in a process started by startProviderScenario")
	}
	scenario, ok := providerScenarios[name]
	require.True(t, ok, "unknown provider scenario %q", name)
	t.Cleanup(func() { providerproc.Exit(t) }) // registered first, so it runs last
	scenario(t)
}

// startProviderScenario runs a provider scenario in a process of its own
// (see providerproc), with env added to its environment.
func startProviderScenario(t *testing.T, name string, env ...string) *providerproc.Process {
	t.Helper()
	return providerproc.Start(t, "TestProviderScenarioProcess", name, env...)
}

// ---- helpers ----

// providerConfig is a provider on nw named name, joining join, with the
// Fast profile and a test logger.
func providerConfig(t *testing.T, nw *clustertest.Network, name string, join ...string) provider.Config {
	return provider.Config{Membership: cluster.MembershipConfig{
		NodeName:  name,
		Join:      join,
		Profile:   cluster.FastProfile(),
		Transport: nw.Transport(name),
		Logger:    clustertest.Logger(t, slog.LevelInfo),
	}}
}

// newUnstartedCluster returns a Proto.Actor cluster whose remote is built
// but never started (see the top of this file), its actor system at
// address; with address "" the system keeps Proto.Actor's "nonhost".
func newUnstartedCluster(t *testing.T, address string) *protocluster.Cluster {
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return clustertest.Logger(t, slog.LevelWarn).With("lib", "protoactor")
	}))
	if address != "" {
		system.ProcessRegistry.Address = address
	}
	config := protocluster.Configure("providertest", nil, disthash.New(), remote.Configure("127.0.0.1", 0))
	c := protocluster.New(system, config)
	c.Remote = remote.NewRemote(system, config.RemoteConfig) // for its block list
	t.Cleanup(system.Shutdown)
	return c
}

// topologyEntry is one ClusterTopology event, with what surrounded it.
type topologyEntry struct {
	at      time.Time
	members map[string]paMember // by id
	left    []string            // ids
	view    []string            // node names the provider's membership listed
	blocked []string            // ids in Proto.Actor's block list
}

func (e topologyEntry) has(id string) bool { _, ok := e.members[id]; return ok }

// topologyLog keeps the ClusterTopology events of a cluster's event stream.
type topologyLog struct {
	// mu guards list and changed.
	mu      sync.Mutex
	list    []topologyEntry
	changed chan struct{} // closed and replaced on every entry
}

// recordTopology records c's topology events until the test ends. Each is
// published on the goroutine that updated the MemberList — the provider's
// membership delivery goroutine — so the membership view and block list
// read there are those of the moment.
func recordTopology(t *testing.T, c *protocluster.Cluster, p *provider.Provider) *topologyLog {
	l := &topologyLog{changed: make(chan struct{})}
	sub := c.ActorSystem.EventStream.Subscribe(func(evt any) {
		topo, ok := evt.(*protocluster.ClusterTopology)
		if !ok {
			return
		}
		e := topologyEntry{at: time.Now(), members: make(map[string]paMember)}
		for _, m := range topo.GetMembers() {
			e.members[m.GetId()] = paMember{ID: m.GetId(), Host: m.GetHost(), Port: m.GetPort(), Kinds: slices.Clone(m.GetKinds())}
		}
		for _, m := range topo.GetLeft() {
			e.left = append(e.left, m.GetId())
		}
		if m := p.Membership(); m != nil {
			for _, mem := range m.Members() {
				e.view = append(e.view, mem.Name)
			}
		}
		e.blocked = c.Remote.BlockList().BlockedMembers().ToSlice()
		l.mu.Lock()
		l.list = append(l.list, e)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	})
	t.Cleanup(func() { c.ActorSystem.EventStream.Unsubscribe(sub) })
	return l
}

func (l *topologyLog) entries() []topologyEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

func (l *topologyLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.list)
}

func (l *topologyLog) latest() (topologyEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) == 0 {
		return topologyEntry{}, false
	}
	return l.list[len(l.list)-1], true
}

// waitFor returns the first entry from index from on that matches, waiting
// for it until timeout; then it fails the test.
func (l *topologyLog) waitFor(t *testing.T, from int, timeout time.Duration, what string, match func(topologyEntry) bool) topologyEntry {
	t.Helper()
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		l.mu.Lock()
		for _, e := range l.list[min(from, len(l.list)):] {
			if match(e) {
				l.mu.Unlock()
				return e
			}
		}
		changed, n := l.changed, len(l.list)
		l.mu.Unlock()
		select {
		case <-changed:
		case <-expired.C:
			t.Fatalf("no topology %s within %v (%d topologies, %d since the wait began)", what, timeout, n, n-from)
			return topologyEntry{}
		}
	}
}

func isNamed(name string) func(cluster.Member) bool {
	return func(m cluster.Member) bool { return m.Name == name }
}

// paMember is the content of a Proto.Actor member (its protobuf message is
// shared with Proto.Actor's goroutines and best not compared whole).
type paMember struct {
	ID, Host string
	Port     int32
	Kinds    []string
}

func splitHostPort(t *testing.T, hostport string) (string, int32) {
	t.Helper()
	host, portText, err := net.SplitHostPort(hostport)
	require.NoError(t, err)
	port, err := strconv.ParseInt(portText, 10, 32)
	require.NoError(t, err)
	return host, int32(port)
}

// closedAddress returns a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
