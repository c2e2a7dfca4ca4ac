package cluster_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
)

func rejoining(_ int, cfg *cluster.MembershipConfig) { cfg.Rejoin = true }

// After a partition long enough for each side to declare the other dead,
// the sides find each other again (reconnect) and every member that some
// peer holds dead rejoins under a fresh id, without a restart: usually the
// isolated one. (Its last death notices, gossiped as the partition heals,
// may get members of the other side declared dead too — SWIM takes a
// peer's death notice as final — and those rejoin as well; when both
// have, they hold nobody dead and readmit the isolated one as it is.)
func TestHealedPartitionRejoinsWithoutRestart(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3, rejoining)
	clustertest.WaitConverged(t, ms, 3, converge)
	before := []cluster.Member{ms[0].Local(), ms[1].Local(), ms[2].Local()}
	recs := recordAll(t, ms)

	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	for _, r := range recs[:2] {
		r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
	}
	recs[2].WaitFor(t, detect, "died n1", clustertest.Is(cluster.EventDied, "n1"))
	recs[2].WaitFor(t, detect, "died n2", clustertest.Is(cluster.EventDied, "n2"))

	healed := time.Now()
	nw.Heal()
	clustertest.WaitConverged(t, ms, 3, detect)
	t.Logf("three members again %v after the heal", time.Since(healed).Round(time.Millisecond))

	var now []string
	for i, m := range ms {
		id := m.Local().ID
		assert.Contains(t, []string{before[i].ID, before[i].ID + "~1"}, id, "%s keeps its id or takes one fresh id", m.Local().Name)
		now = append(now, id)
	}
	slices.Sort(now)
	assert.NotEqual(t, []string{before[0].ID, before[1].ID, before[2].ID}, now, "some member rejoined under a fresh id")
	for _, m := range ms {
		require.Eventually(t, func() bool { return slices.Equal(now, sortedIDs(m.Members())) }, converge, 10*time.Millisecond,
			"%s sees %v", m.Local().Name, now)
	}
	// Each rejoined member's own subscribers saw its old self die and the
	// new one join; its peers saw the new id join.
	for i, m := range ms {
		fresh := m.Local().ID
		if fresh == before[i].ID {
			continue
		}
		recs[i].WaitFor(t, converge, "own old id died", func(ev cluster.Event) bool {
			return ev.Kind == cluster.EventDied && ev.Member.ID == before[i].ID
		})
		recs[i].WaitFor(t, converge, "own fresh id joined", func(ev cluster.Event) bool {
			return ev.Kind == cluster.EventJoined && ev.Member.ID == fresh
		})
		peer := (i + 1) % len(ms)
		recs[peer].WaitFor(t, converge, "fresh id joined at a peer", func(ev cluster.Event) bool {
			return ev.Kind == cluster.EventJoined && ev.Member.ID == fresh
		})
	}
}

// A member that did not notice it was cut off (a paused process: here one
// whose own suspicion timeout outlasts the partition) is declared dead by
// the others alone. It rejoins under a fresh id although it sees every
// member alive: the others will never readmit its old id.
func TestMemberDeclaredDeadAloneRejoins(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3, rejoining, func(i int, cfg *cluster.MembershipConfig) {
		p := cluster.FastProfile()
		p.SuspicionMult = 4 // 0.8 s: no false deaths on a loaded machine
		if i == 2 {
			p.SuspicionMult = 100 // 20 s before n3 would declare anyone dead
		}
		cfg.Profile = p
	})
	clustertest.WaitConverged(t, ms, 3, converge)
	old := ms[2].Local().ID
	recs := recordAll(t, ms)

	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	for _, r := range recs[:2] {
		r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
	}
	require.Len(t, ms[2].Members(), 3, "n3 has declared nobody dead")
	nw.Heal()
	clustertest.WaitConverged(t, ms, 3, detect)
	require.Eventually(t, func() bool {
		fresh := ms[2].Local().ID
		return fresh != old && slices.Contains(sortedIDs(ms[0].Members()), fresh)
	}, detect, 10*time.Millisecond, "n1 sees n3 under its fresh id")
	assert.Equal(t, old+"~1", ms[2].Local().ID, "two peers told it; it rejoined once")
	assert.Zero(t, count(recs[2].Events(), func(ev cluster.Event) bool {
		return ev.Kind == cluster.EventDied && ev.Member.Name != "n3"
	}), "n3 never reported a peer dead")
}

// Without Rejoin a member told it was declared dead stays out and says
// that its process must restart.
func TestMemberWithoutRejoinStaysOut(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	logs := captureLogs(t)
	ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
		if i == 2 {
			cfg.Logger = logs.logger()
		}
	})
	clustertest.WaitConverged(t, ms, 3, converge)
	old := ms[2].Local().ID
	recs := recordAll(t, ms[:2])
	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	for _, r := range recs {
		r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
	}
	nw.Heal()
	logs.waitFor(t, detect, "restart the process to rejoin under a fresh id")
	assert.Equal(t, old, ms[2].Local().ID)
	assert.NotContains(t, sortedIDs(ms[0].Members()), old)
}

func sortedIDs(members []cluster.Member) []string {
	out := ids(members)
	slices.Sort(out)
	return out
}

// A node cut off long enough to be declared dead comes back by itself once
// the partition heals: it rejoins under a fresh id, drops the activations
// its peers took over, and every counter has one active owner again.
func TestNodeRejoinsAfterPartitionWithOneOwnerPerInstance(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 3, defineCounter)
	clustertest.WaitConverged(t, nodes, 3, converge)
	ids := counterIDs(30)
	incrementAll(t, nodes[0], ids)
	before := []cluster.Member{nodes[0].Local(), nodes[1].Local(), nodes[2].Local()}
	require.NotZero(t, activations(nodes[2])["n3"], "n3 owns some counters")

	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	clustertest.WaitConverged(t, nodes[:2], 2, detect)
	require.Eventually(t, func() bool { return !nodes[2].Ready() }, detect, 10*time.Millisecond, "n3 alone has no quorum")
	incrementAll(t, nodes[0], ids) // the majority takes n3's counters over
	require.Eventually(t, func() bool { return len(clustertest.Misplaced(nodes[2])) == 0 }, converge, 10*time.Millisecond,
		"without a quorum n3 keeps no activation")

	healed := time.Now()
	nw.Heal()
	clustertest.WaitConverged(t, nodes, 3, detect)
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if !n.Ready() {
				return false
			}
		}
		return true
	}, detect, 10*time.Millisecond, "every node serves again")
	t.Logf("all three ready %v after the heal", time.Since(healed).Round(time.Millisecond))
	// n3 rejoined under a fresh id; or, when its own death notices, sent
	// as the partition healed, got n1 and n2 declared dead, they did and
	// readmitted it (see TestHealedPartitionRejoinsWithoutRestart).
	fresh := 0
	for i, n := range nodes {
		if n.Local().ID != before[i].ID {
			fresh++
		}
	}
	require.Positive(t, fresh, "some member rejoined under a fresh id")

	for _, id := range ids {
		for _, n := range nodes {
			_, err := getCount(t, n, id, 5*time.Second)
			require.NoError(t, err, "counter %s through %s", id, n.Local().Name)
		}
	}
	require.Eventually(t, func() bool { return len(clustertest.Misplaced(nodes...)) == 0 }, converge, 10*time.Millisecond,
		"one active owner per counter: %v", clustertest.Misplaced(nodes...))
}

// A member that joins takes over its share of the instances: the members
// that held them deactivate them, so that each has one active owner.
func TestJoiningMemberTakesOverItsInstances(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 2, defineCounter)
	clustertest.WaitConverged(t, nodes, 2, converge)
	ids := counterIDs(30)
	incrementAll(t, nodes[0], ids)
	before := activations(nodes...)
	require.EqualValues(t, len(ids), before["n1"]+before["n2"])

	third := nw.StartNode(t, cluster.NodeConfig{Join: []string{nodes[0].Local().Gossip}, Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) }})
	all := append(nodes, third)
	clustertest.WaitConverged(t, all, 3, converge)
	require.Eventually(t, func() bool { return len(clustertest.Misplaced(all...)) == 0 }, converge, 10*time.Millisecond,
		"one active owner per counter: %v", clustertest.Misplaced(all...))
	moved := 0
	for _, id := range ids {
		if owner, err := third.Owner("counter", id); err == nil && owner.Name == third.Local().Name {
			moved++
		}
	}
	require.Positive(t, moved, "n3 owns some counters now")
	active := 0
	for _, n := range nodes {
		for range n.Runtime().Active() {
			active++
		}
	}
	require.Equal(t, len(ids)-moved, active, "n1 and n2 keep only what they still own")
}

// incrementAll increments each counter once through node.
func incrementAll(t *testing.T, node *cluster.Node, ids []string) {
	t.Helper()
	for _, id := range ids {
		_, err := increment(t, node, id, 5*time.Second)
		require.NoError(t, err, "counter %s", id)
	}
}

// A member kind is addressed to the member its identity names, not placed
// by hashing: "n2/c1" is always on n2, and a name with no live member is
// not delivered.
func TestMemberKindsAreAddressedToTheirMember(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	nodes := nw.StartNodes(t, 3, func(_ int, cfg *cluster.NodeConfig) {
		cfg.MemberKinds = []string{"counter"}
		cfg.Define = func(rt *actor.Runtime) error { return counter.Define(rt, nil) }
	})
	clustertest.WaitConverged(t, nodes, 3, converge)
	for _, target := range []string{"n1", "n2", "n3"} {
		for _, id := range []string{target, target + "/a", target + "/b"} {
			owner, err := nodes[0].Owner("counter", id)
			require.NoError(t, err)
			require.Equal(t, target, owner.Name, id)
			got, err := increment(t, nodes[1], id, 5*time.Second)
			require.NoError(t, err, id)
			require.EqualValues(t, 1, got)
		}
	}
	require.EqualValues(t, map[string]uint64{"n1": 3, "n2": 3, "n3": 3}, activations(nodes...))
	_, err := increment(t, nodes[0], "n9/a", time.Second)
	require.ErrorIs(t, err, cluster.ErrNotDelivered)
	require.ErrorContains(t, err, `no live member named "n9"`)
	require.Empty(t, clustertest.Misplaced(nodes...))
}
