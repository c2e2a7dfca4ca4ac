package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
)

// defineCounter makes a node host the quick start's counter.
func defineCounter(i int, cfg *cluster.NodeConfig) {
	cfg.Define = func(rt *actor.Runtime) error { return counter.Define(rt, nil) }
}

// alice is a caller holding user:basic on node's runtime.
func alice(t testing.TB, node *cluster.Node) *intent.Context {
	t.Helper()
	caller, err := node.Runtime().NewContext("alice", "user:basic")
	require.NoError(t, err)
	return caller
}

// getCount sends a Get for id through node and returns the count.
func getCount(t testing.TB, node *cluster.Node, id string, timeout time.Duration) (int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reply, err := node.Request(ctx, alice(t, node), &counterpb.Get{Counter: id})
	if err != nil {
		return 0, err
	}
	return reply.(*counterpb.Value).Count, nil
}

func increment(t testing.TB, node *cluster.Node, id string, timeout time.Duration) (int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reply, err := node.Request(ctx, alice(t, node), &counterpb.Increment{Counter: id, By: 1})
	if err != nil {
		return 0, err
	}
	return reply.(*counterpb.Value).Count, nil
}

// owners returns the name of the owner of each counter as node sees it.
func owners(t testing.TB, node *cluster.Node, ids []string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		m, err := node.Owner("counter", id)
		require.NoError(t, err)
		out[id] = m.Name
	}
	return out
}

func counterIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	return ids
}

// activations sums the reactor activations of every node.
func activations(nodes ...*cluster.Node) map[string]uint64 {
	out := map[string]uint64{}
	for _, n := range nodes {
		out[n.Local().Name] = n.Runtime().Stats().Activations
	}
	return out
}

func TestNodeSpreadsAndAgrees(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			t.Parallel()
			nw := clustertest.NewNetwork()
			nodes := nw.StartNodes(t, size, defineCounter)
			clustertest.WaitConverged(t, nodes, size, converge)

			ids := counterIDs(60)
			want := owners(t, nodes[0], ids)
			perOwner := map[string]int{}
			for _, owner := range want {
				perOwner[owner]++
			}
			require.Len(t, perOwner, size, "60 counters over %d nodes: every node owns some (%v)", size, perOwner)
			for _, n := range nodes[1:] {
				require.Equal(t, want, owners(t, n, ids), "node %s disagrees on owners", n.Local().Name)
			}

			// Each counter is incremented once through every node, and
			// every increment lands on the one activation of its owner.
			for _, id := range ids {
				for i, n := range nodes {
					got, err := increment(t, n, id, 5*time.Second)
					require.NoError(t, err)
					require.EqualValues(t, i+1, got, "counter %s through %s", id, n.Local().Name)
				}
			}
			acts := activations(nodes...)
			for name, owned := range perOwner {
				require.EqualValues(t, owned, acts[name], "node %s activated %d counters, owns %d", name, acts[name], owned)
			}
		})
	}
}

func TestNodeFailover(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 3, defineCounter)
	clustertest.WaitConverged(t, nodes, 3, converge)

	ids := counterIDs(30)
	before := owners(t, nodes[0], ids)
	incrementAll(t, nodes[0], ids)
	victim := nodes[2]
	name := victim.Local().Name
	var moved []string
	for id, owner := range before {
		if owner == name {
			moved = append(moved, id)
		}
	}
	require.NotEmpty(t, moved)

	victim.Kill()
	start := time.Now()
	// Requests sent before the survivors notice the death retry until
	// the topology changes: each answers within its deadline, from a
	// fresh activation on a survivor (state is in memory until durable
	// state exists).
	for _, id := range moved {
		got, err := increment(t, nodes[1], id, detect)
		require.NoError(t, err, "counter %s", id)
		require.EqualValues(t, 1, got, "counter %s restarts on its new owner", id)
	}
	t.Logf("first %d moved counters answered %v after the kill", len(moved), time.Since(start))
	// nodes[0] may declare the victim dead a little after nodes[1] did.
	clustertest.WaitConverged(t, nodes[:2], 2, detect)
	for _, n := range nodes[:2] {
		after := owners(t, n, ids)
		for id, owner := range after {
			require.NotEqual(t, name, owner)
			if before[id] != name {
				require.Equal(t, before[id], owner, "counter %s moved although its owner lives", id)
			}
		}
	}
	// Counters whose owner lives kept their state.
	for id, owner := range before {
		if owner != name {
			got, err := getCount(t, nodes[0], id, 5*time.Second)
			require.NoError(t, err)
			require.EqualValues(t, 1, got, "counter %s", id)
		}
	}
}

func TestNodeMinorityDoesNotTakeOver(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 5, defineCounter)
	clustertest.WaitConverged(t, nodes, 5, converge)
	ids := counterIDs(40)
	before := owners(t, nodes[0], ids)

	minority, majority := nodes[:2], nodes[2:]
	nw.Partition([]string{"n1", "n2"}, []string{"n3", "n4", "n5"})
	clustertest.WaitConverged(t, majority, 3, detect)
	clustertest.WaitConverged(t, minority, 2, detect)
	for _, n := range minority {
		require.False(t, n.Ready(), "%s is in the minority", n.Local().Name)
	}
	for _, n := range majority {
		require.True(t, n.Ready(), "%s is in the majority", n.Local().Name)
		known := n.KnownMembers()
		require.Len(t, known, 5, "the dead still count for the quorum")
		dead := 0
		for _, m := range known {
			if m.Status == cluster.StatusDead {
				dead++
				require.Contains(t, []string{"n1", "n2"}, m.Name)
			}
		}
		require.Equal(t, 2, dead)
	}

	idle := activations(minority...)
	for _, id := range ids {
		_, err := getCount(t, minority[0], id, 100*time.Millisecond)
		require.ErrorIs(t, err, intent.ErrUnavailable, "counter %s through the minority", id)
		require.ErrorIs(t, err, cluster.ErrNoQuorum)
	}
	require.Equal(t, idle, activations(minority...), "the minority activated nothing")

	// The majority serves every counter, those of the minority's members
	// included.
	for _, id := range ids {
		_, err := getCount(t, majority[0], id, 5*time.Second)
		require.NoError(t, err, "counter %s (owned by %s before) through the majority", id, before[id])
	}
}

func TestNodeWaitsToJoin(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	node, err := cluster.NewNode(nw.PrepareNode(cluster.NodeConfig{
		Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) },
		Join:   []string{"127.0.0.1:1"}, // nothing there
		Logger: clustertest.Logger(t, 0),
	}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, node.Stop()) })
	require.False(t, node.Ready())
	_, err = getCount(t, node, "c1", 50*time.Millisecond)
	require.ErrorIs(t, err, cluster.ErrNotDelivered)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, node.Join(ctx), cluster.ErrJoin)
	require.False(t, node.Ready())
}

func TestNodeStopLeavesGracefully(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 3, defineCounter)
	clustertest.WaitConverged(t, nodes, 3, converge)
	left := clustertest.Record(t, nodes[0])

	require.NoError(t, nodes[2].Stop())
	require.NoError(t, nodes[2].Stop(), "Stop is idempotent")
	left.WaitFor(t, converge, "n3 left", clustertest.Is(cluster.EventLeft, "n3"))
	_, err := nodes[2].Request(context.Background(), alice(t, nodes[2]), &counterpb.Get{Counter: "c1"})
	require.ErrorIs(t, err, cluster.ErrNodeStopped)

	// Two of three known members are left: a member that left is forgotten,
	// so the survivors keep their quorum.
	for _, id := range counterIDs(20) {
		_, err := getCount(t, nodes[0], id, 5*time.Second)
		require.NoError(t, err)
	}
	require.True(t, nodes[0].Ready())
}

func TestNodeRejectsBadConfigAndInput(t *testing.T) {
	t.Parallel()
	_, err := cluster.NewNode(cluster.NodeConfig{Name: "x", SplitBrain: 9})
	require.ErrorIs(t, err, cluster.ErrInvalidConfig)
	_, err = cluster.NewNode(cluster.NodeConfig{Name: "x", RequestTimeout: -1})
	require.ErrorIs(t, err, cluster.ErrInvalidConfig)
	_, err = cluster.NewNode(cluster.NodeConfig{Name: "x", Define: func(*actor.Runtime) error { return errors.New("boom") }})
	require.ErrorContains(t, err, "boom")

	nw := clustertest.NewNetwork()
	node := nw.StartNode(t, cluster.NodeConfig{Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) }})
	_, err = node.Deliver(context.Background(), nil)
	require.ErrorIs(t, err, intent.ErrInvalid)
	_, err = node.Request(context.Background(), alice(t, node), &counterpb.Get{}) // no identity
	require.ErrorIs(t, err, intent.ErrInvalid)
	caller, err := node.Runtime().NewContext("bob")
	require.NoError(t, err)
	_, err = node.Request(context.Background(), caller, &counterpb.Get{Counter: "c1"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
}

// defineSlow makes a node host kind "slow": its handler reports each intent
// on entered and then waits for release. StringValue intents (identity: the
// value) are not idempotent, BytesValue ones (identity: the bytes) are.
func defineSlow(entered chan<- string, release <-chan struct{}) func(*actor.Runtime) error {
	return func(rt *actor.Runtime) error {
		if err := rt.DefineSchema("user", []string{"basic"}); err != nil {
			return err
		}
		if _, err := intent.Register(rt.Types(), intent.Spec[*wrapperspb.StringValue]{
			Kind: "slow", Requires: []string{"user:basic"}, IdentityField: "value"}); err != nil {
			return err
		}
		if _, err := intent.Register(rt.Types(), intent.Spec[*wrapperspb.BytesValue]{
			Kind: "slow", Requires: []string{"user:basic"}, Idempotent: true,
			Identity: func(m *wrapperspb.BytesValue) string { return string(m.Value) }}); err != nil {
			return err
		}
		slow := actor.NewReactor[int]("slow", nil)
		wait := func(c *actor.Call) {
			entered <- c.Identity()
			<-release
		}
		actor.Handle(slow, func(c *actor.Call, s int, _ *wrapperspb.StringValue) (int, *wrapperspb.StringValue, error) {
			wait(c)
			return s + 1, wrapperspb.String(c.Identity()), nil
		})
		actor.Handle(slow, func(c *actor.Call, s int, _ *wrapperspb.BytesValue) (int, *wrapperspb.StringValue, error) {
			wait(c)
			return s, wrapperspb.String(c.Identity()), nil
		})
		return rt.Register(slow)
	}
}

// TestNodeAbandonsRequestsToALostMember: a request waiting on a member
// that stops answering without closing its connections (partitioned, or a
// killed container) is abandoned as soon as the member is declared dead,
// not at its deadline: an idempotent one is retried on the new owner, any
// other fails with an unknown outcome.
func TestNodeAbandonsRequestsToALostMember(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 16)
	stuck, free := make(chan struct{}), make(chan struct{})
	close(free)
	defer close(stuck)
	nw := clustertest.NewNetwork()
	// n3's handlers wait until the test ends; n1's and n2's answer at once.
	nodes := nw.StartNodes(t, 3, func(i int, cfg *cluster.NodeConfig) {
		release := free
		if i == 2 {
			release = stuck
		}
		cfg.Define = defineSlow(entered, release)
	})
	clustertest.WaitConverged(t, nodes, 3, converge)

	// Two identities owned by n3, asked through n1.
	var ids []string
	for k := 0; len(ids) < 2; k++ {
		if owner, _ := nodes[0].Owner("slow", fmt.Sprint(k)); owner.Name == "n3" {
			ids = append(ids, fmt.Sprint(k))
		}
	}
	caller := alice(t, nodes[0])
	type result struct {
		reply proto.Message
		err   error
	}
	send := func(msg proto.Message) <-chan result {
		out := make(chan result, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			reply, err := nodes[0].Request(ctx, caller, msg)
			out <- result{reply, err}
		}()
		return out
	}
	plain := send(wrapperspb.String(ids[0]))
	require.Equal(t, ids[0], <-entered)
	idempotent := send(wrapperspb.Bytes([]byte(ids[1])))
	require.Equal(t, ids[1], <-entered)

	start := time.Now()
	nw.Partition([]string{"n3"})
	for _, c := range []struct {
		name string
		out  <-chan result
	}{{"plain", plain}, {"idempotent", idempotent}} {
		select {
		case r := <-c.out:
			if c.name == "plain" {
				require.ErrorIs(t, r.err, intent.ErrUnavailable)
				require.NotErrorIs(t, r.err, cluster.ErrNotDelivered, "it reached a reactor")
				require.ErrorContains(t, r.err, "outcome unknown")
			} else {
				require.NoError(t, r.err, "retried on the new owner")
				require.Equal(t, ids[1], r.reply.(*wrapperspb.StringValue).Value)
			}
			t.Logf("%s request answered %v after the partition: %v", c.name, time.Since(start), r.err)
		case <-time.After(detect):
			t.Fatalf("the %s request still waits %v after its owner was cut off", c.name, detect)
		}
	}
}

// TestNodeFailoverKeepsCommittedState: with a store every member reaches
// (here one in-memory store stands in for a replicated one), a counter
// whose member is killed answers from its new owner with every acknowledged
// increment, and a stale activation cannot overwrite the new owner's
// writes.
func TestNodeFailoverKeepsCommittedState(t *testing.T) {
	t.Run("shared store", func(t *testing.T) {
		t.Parallel()
		shared := store.NewMemory()
		failoverKeepsCommittedState(t, func(int) store.Store { return shared }, nil)
	})
	t.Run("replicated store", func(t *testing.T) {
		t.Parallel()
		// Each node has its own member of a three-member replicated store;
		// the killed node's member dies with it.
		members := replicatedtest.Cluster(t, 3, nil)
		failoverKeepsCommittedState(t, func(i int) store.Store { return members[i] },
			func(i int) { require.NoError(t, members[i].Close()) })
	})
}

func failoverKeepsCommittedState(t *testing.T, storeOf func(i int) store.Store, killStore func(i int)) {
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 3, defineCounter, func(i int, cfg *cluster.NodeConfig) { cfg.Runtime.Store = storeOf(i) })
	clustertest.WaitConverged(t, nodes, 3, converge)

	ids := counterIDs(30)
	acked := map[string]int64{}
	for round := range 3 {
		for _, id := range ids {
			got, err := increment(t, nodes[round], id, 5*time.Second)
			require.NoError(t, err)
			acked[id]++
			require.Equal(t, acked[id], got)
		}
	}
	nodes[2].Kill()
	if killStore != nil {
		killStore(2)
	}
	for _, id := range ids {
		got, err := increment(t, nodes[1], id, detect+15*time.Second)
		require.NoError(t, err, "counter %s", id)
		acked[id]++
		require.Equal(t, acked[id], got, "counter %s kept every acknowledged increment", id)
	}
}

// The test kit's intent faults: a dropped request changes nothing, a
// dropped reply loses only the answer (the increment is applied), a delay
// delays; the caller of either drop sees its deadline pass (outcome
// unknown to it).
func TestNodeUnderIntentFaults(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 2, defineCounter)
	clustertest.WaitConverged(t, nodes, 2, converge)
	var remote string // a counter n2 owns, asked through n1
	for id, owner := range owners(t, nodes[0], counterIDs(20)) {
		if owner == nodes[1].Local().Name {
			remote = id
			break
		}
	}
	require.NotEmpty(t, remote)
	var mode atomic.Value
	mode.Store(clustertest.IntentFault{})
	nw.SetIntentFaults(func(from, to string) clustertest.IntentFault {
		if from == nodes[0].Local().Name && to == nodes[1].Local().Name {
			return mode.Load().(clustertest.IntentFault)
		}
		return clustertest.IntentFault{}
	})
	_, err := increment(t, nodes[0], remote, 2*time.Second)
	require.NoError(t, err)

	mode.Store(clustertest.IntentFault{DropRequest: true})
	_, err = increment(t, nodes[0], remote, 300*time.Millisecond)
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	got, err := getCount(t, nodes[1], remote, 2*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 1, got, "a dropped request is not applied")

	mode.Store(clustertest.IntentFault{DropReply: true})
	_, err = increment(t, nodes[0], remote, 300*time.Millisecond)
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	got, err = getCount(t, nodes[1], remote, 2*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 2, got, "a dropped reply's increment is applied")

	mode.Store(clustertest.IntentFault{Delay: 200 * time.Millisecond})
	start := time.Now()
	got, err = increment(t, nodes[0], remote, 2*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 3, got)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	nw.SetIntentFaults(nil)
}
