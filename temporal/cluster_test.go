package temporal_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal"
)

// journal is what happened across a cluster's members, in order: temporal
// events and the increments the counters handled. Tests wait on it with
// deadlines.
type journal struct{ *watchLog[entry] }

// entry is one thing a member did.
type entry struct {
	node string
	what string // "schedule", "reminder" or "handled"
	kind temporal.ScheduleEventKind
	name string    // the reminder; for handled, the counter
	at   time.Time // the schedule's slot or the reminder's due time
	user string    // handled: the increment's user id
	err  error
}

func (e entry) String() string {
	return fmt.Sprintf("%s %s %s %s %s %s %v", e.node, e.what, e.kind, e.name, e.at.Format(time.RFC3339), e.user, e.err)
}

func newJournal() *journal { return &journal{newWatchLog[entry]()} }

// waitCount waits until exactly n entries match, failing the test when
// more match or when n do not within timeout.
func (j *journal) waitCount(t testing.TB, timeout time.Duration, what string, n int, match func(entry) bool) []entry {
	t.Helper()
	return j.waitUntil(t, timeout, what, match, func(got []entry) bool {
		require.LessOrEqual(t, len(got), n, "%s: more than expected: %v", what, got)
		return len(got) == n
	})
}

// auditCounter hosts the quick start's counter on a node, journaling each
// increment it commits, with the node that handled it. The counter's
// notice reads "Incrementing counter C by N for user: U".
func auditCounter(j *journal, node string) func(*actor.Runtime) error {
	return func(rt *actor.Runtime) error {
		return counter.Define(rt, func(notice string) {
			rest, ok := strings.CutPrefix(notice, "Incrementing counter ")
			if !ok {
				return
			}
			name, _, _ := strings.Cut(rest, " ")
			_, user, _ := strings.Cut(rest, "for user: ")
			j.add(entry{node: node, what: "handled", name: name, user: user})
		})
	}
}

// clusterMember is one node of the in-process cluster with the temporal
// services it runs.
type clusterMember struct {
	node     *cluster.Node
	store    *flakyStore // the node's view of the shared store: cut when it dies
	caller   *intent.Context
	reminder *temporal.Reminders
	schedule *temporal.Schedule
}

func (m *clusterMember) name() string { return m.node.Local().Name }

// stopServices stops the member's schedule and reminder service.
func (m *clusterMember) stopServices(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if m.schedule != nil {
		require.NoError(t, m.schedule.Stop(ctx))
	}
	if m.reminder != nil {
		require.NoError(t, m.reminder.Stop(ctx))
	}
}

// ownerOf returns the index among members of the owner of the counter id,
// as node sees it.
func ownerOf(t testing.TB, node *cluster.Node, members []*clusterMember, id string) int {
	t.Helper()
	owner, err := node.Owner("counter", id)
	require.NoError(t, err)
	for i, m := range members {
		if m.node.Local().ID == owner.ID {
			return i
		}
	}
	t.Fatalf("owner %s of counter %s is not a member", owner, id)
	return -1
}

// ownedBy returns the first name prefix-K that members[i] owns.
func ownedBy(t testing.TB, members []*clusterMember, i int, prefix string) string {
	t.Helper()
	for k := range 1000 {
		id := prefix + strconv.Itoa(k)
		if ownerOf(t, members[0].node, members, id) == i {
			return id
		}
	}
	t.Fatalf("no %s* owned by member %d", prefix, i)
	return ""
}

// testSeed is PF_TEMPORAL_SEED when set, so that a failing run can be
// repeated, or else a fresh seed. The test logs it.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PF_TEMPORAL_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "PF_TEMPORAL_SEED")
	}
	t.Logf("seed %d (PF_TEMPORAL_SEED=%d repeats this run)", seed, seed)
	return seed
}

// TestClusterSchedulesAndRemindersSurviveAKilledMember runs a schedule and
// the reminder service on every member of a three-node cluster (in
// process, one shared store standing in for a replicated one, the nodes as
// the Requesters, one fake clock), kills a member between two slots and
// checks that every slot and every reminder occurrence fired exactly once
// cluster-wide and was handled by the owner of its counter, before and
// after the kill, and that a reminder registered on the killed member just
// before it died fires once on a survivor.
//
// "placed": the schedule fires only on the owner of its name in the
// cluster's placement, and the victim is that owner. "racing": every
// member's schedule fires and the store's conditional commit decides.
// "mid-run": placed, and the victim dies while the intent of a slot it
// fired is on its way to a survivor: that slot fired once and is handled
// at most once, never fired again by the survivors.
//
// A kill is a crash: the victim's view of the store is cut first (a dead
// process commits nothing more), then its services and its node stop,
// without leaving.
func TestClusterSchedulesAndRemindersSurviveAKilledMember(t *testing.T) {
	t.Run("placed", func(t *testing.T) { clusterSurvivesKill(t, true, false) })
	t.Run("racing", func(t *testing.T) { clusterSurvivesKill(t, false, false) })
	t.Run("mid-run", func(t *testing.T) { clusterSurvivesKill(t, true, true) })
}

func clusterSurvivesKill(t *testing.T, placed, midRun bool) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	victim := rng.IntN(3)
	killAfter := 2 + rng.IntN(3) // slot after which the victim dies
	slots := killAfter + 4
	t.Logf("victim n%d, killed after slot %d of %d", victim+1, killAfter, slots)

	j := newJournal()
	clock := temporal.NewFakeClock(t0)
	shared := store.NewMemory()
	nw := clustertest.NewNetwork()
	members := make([]*clusterMember, 3)
	profile := cluster.FastProfile()
	profile.SuspicionMult = 4 // no false deaths on a loaded machine
	nodes := nw.StartNodes(t, 3, func(i int, cfg *cluster.NodeConfig) {
		cfg.Name = fmt.Sprintf("n%d", i+1)
		members[i] = &clusterMember{store: &flakyStore{Store: shared}}
		cfg.Define = auditCounter(j, cfg.Name)
		cfg.Runtime = actor.Config{Store: members[i].store}
		cfg.Profile = profile
		cfg.Logger = clustertest.Logger(t, slog.LevelWarn)
	})
	clustertest.WaitConverged(t, nodes, 3, 10*time.Second)
	for i, n := range nodes {
		members[i].node = n
		var err error
		members[i].caller, err = n.Runtime().NewContext("temporal", "user:basic")
		require.NoError(t, err)
	}

	// The names, chosen so that the victim owns what matters.
	targetOwner := victim
	if midRun {
		targetOwner = (victim + 1 + rng.IntN(2)) % 3 // a survivor, so the intent crosses the network
	}
	target := ownedBy(t, members, targetOwner, "slot-") // the schedule's counter
	late := ownedBy(t, members, victim, "late-")        // the reminder registered on the victim
	beat := ownedBy(t, members, rng.IntN(3), "beat-")   // a periodic reminder's counter
	schedName := "tens"
	if placed {
		schedName = ownedBy(t, members, victim, "tens-")
	}
	t.Logf("schedule %s → counter %s; reminders late → %s, beat → %s", schedName, target, late, beat)

	for _, m := range members {
		name := m.name()
		var err error
		m.reminder, err = temporal.StartReminders(m.node.Runtime().System(), temporal.ReminderConfig{
			Store: m.store, Shards: 4, Target: m.node, Caller: m.caller, Clock: clock, Poll: 3 * time.Second,
			RunTimeout: 20 * time.Second, Logger: testLogger(t),
			Events: func(e temporal.ReminderEvent) {
				j.add(entry{node: name, what: "reminder", kind: e.Kind, name: e.Reminder, at: e.Due, err: e.Err})
			},
		})
		require.NoError(t, err)
		node := m.node
		var owns func() bool
		if placed {
			owns = func() bool {
				owner, err := node.Owner("counter", schedName)
				return err == nil && owner.ID == node.Local().ID
			}
		}
		m.schedule, err = temporal.StartSchedule(m.node.Runtime().System(), temporal.ScheduleConfig{
			Name: schedName, Calendar: every10s(t), Intent: increment(target), Target: m.node, Caller: m.caller,
			Store: m.store, Clock: clock, Owns: owns, RunTimeout: 20 * time.Second, Logger: testLogger(t),
			Events: func(e temporal.ScheduleEvent) {
				j.add(entry{node: name, what: "schedule", kind: e.Kind, at: e.Slot, err: e.Err})
			},
		})
		require.NoError(t, err)
		t.Cleanup(func() { m.stopServices(t) }) // before the nodes stop
	}
	ctx := context.Background()
	// Registered on a member that is not the victim; fires every 10s,
	// between the slots.
	require.NoError(t, members[(victim+1)%3].reminder.Register(ctx, "beat", t0.Add(5*time.Second), 10*time.Second,
		&counterpb.Increment{Counter: beat, UserId: "beat"}, "test"))

	live := members
	const wait = 15 * time.Second
	for k := 1; k <= slots; k++ {
		slot := t0.Add(time.Duration(k) * 10 * time.Second)
		user := slot.Format(time.RFC3339)
		settle(t, clock, 2*len(live), slot.Add(-time.Second))
		j.waitCount(t, wait, fmt.Sprintf("beat %d handled", k), k, func(e entry) bool { return e.what == "handled" && e.user == "beat" })
		if midRun && k == killAfter {
			// The victim's intents take 2s to leave it: it dies first.
			victimName := members[victim].name()
			nw.SetIntentFaults(func(from, _ string) clustertest.IntentFault {
				if from == victimName {
					return clustertest.IntentFault{Delay: 2 * time.Second}
				}
				return clustertest.IntentFault{}
			})
		}
		settle(t, clock, 2*len(live), slot)
		if midRun && k == killAfter {
			j.waitCount(t, wait, "slot "+user+" fired", 1, func(e entry) bool {
				return e.what == "schedule" && e.kind == temporal.EventFired && e.at.Equal(slot) && e.node == members[victim].name()
			})
		} else {
			j.waitCount(t, wait, "slot "+user+" succeeded", 1, func(e entry) bool {
				return e.what == "schedule" && e.kind == temporal.EventSucceeded && e.at.Equal(slot)
			})
			j.waitCount(t, wait, "slot "+user+" handled", 1, func(e entry) bool { return e.what == "handled" && e.user == user })
		}
		if k != killAfter {
			continue
		}
		// Registered on the victim, due 7s after this slot: the victim dies
		// at once, and a survivor learns of it from the store at its next
		// poll.
		due := slot.Add(7 * time.Second)
		require.NoError(t, members[victim].reminder.Register(ctx, "late", due, 0,
			&counterpb.Increment{Counter: late, UserId: "late"}, "test"))
		v := members[victim]
		v.store.fail.Store(true)
		if midRun {
			v.node.Kill() // the run in flight dies with it
		}
		v.stopServices(t)
		v.node.Kill()
		live = nil
		var survivors []*cluster.Node
		for i, m := range members {
			if i != victim {
				live = append(live, m)
				survivors = append(survivors, m.node)
			}
		}
		clustertest.WaitConverged(t, survivors, 2, 20*time.Second)
		t.Logf("n%d killed after slot %d; the survivors see each other alone", victim+1, k)
	}
	// One more slot's time: nothing fires twice late.
	settle(t, clock, 2*len(live), t0.Add(time.Duration(slots)*10*time.Second+9*time.Second))

	// Every slot fired once, on one member, and was handled once, by the
	// owner of the counter at the time.
	lostMidRun := 0
	for k := 1; k <= slots; k++ {
		slot := t0.Add(time.Duration(k) * 10 * time.Second)
		fired := j.filter(func(e entry) bool {
			return e.what == "schedule" && e.kind == temporal.EventFired && e.at.Equal(slot)
		})
		require.Len(t, fired, 1, "slot %d fired once cluster-wide: %v", k, fired)
		handled := j.filter(func(e entry) bool { return e.what == "handled" && e.user == slot.Format(time.RFC3339) })
		if midRun && k == killAfter {
			require.Equal(t, members[victim].name(), fired[0].node)
			require.LessOrEqual(t, len(handled), 1, "slot %d, whose member died mid-run, handled at most once", k)
			lostMidRun = 1 - len(handled)
			t.Logf("slot %d, in flight when its member died, handled %d times", k, len(handled))
			continue
		}
		require.Len(t, handled, 1, "slot %d handled once", k)
		wantNode := members[targetOwner].name()
		if k > killAfter {
			wantNode = live[ownerOf(t, live[0].node, live, target)].name()
			if placed {
				require.NotEqual(t, members[victim].name(), fired[0].node)
			}
		}
		require.Equal(t, wantNode, handled[0].node, "slot %d handled by the counter's owner", k)
	}
	require.Empty(t, j.filter(func(e entry) bool {
		return e.what == "schedule" && (e.kind == temporal.EventMissed || e.kind == temporal.EventSkipped ||
			e.kind == temporal.EventFailed && e.node != members[victim].name())
	}), "no slot missed, skipped or failed")

	// The periodic reminder fired once per occurrence; the one registered
	// on the victim fired once, on a survivor, handled by its counter's
	// new owner.
	for k := 1; k <= slots+1; k++ {
		due := t0.Add(time.Duration(k)*10*time.Second - 5*time.Second)
		fired := j.filter(func(e entry) bool {
			return e.what == "reminder" && e.kind == temporal.EventFired && e.name == "beat" && e.at.Equal(due)
		})
		require.Len(t, fired, 1, "beat due %s fired once cluster-wide", due.Format(time.RFC3339))
	}
	j.waitCount(t, wait, "beat handled once per occurrence", slots+1, func(e entry) bool { return e.what == "handled" && e.user == "beat" })
	lateFired := j.filter(func(e entry) bool {
		return e.what == "reminder" && e.kind == temporal.EventFired && e.name == "late"
	})
	require.Len(t, lateFired, 1, "late fired once")
	require.NotEqual(t, members[victim].name(), lateFired[0].node, "late fired on a survivor")
	lateHandled := j.waitCount(t, wait, "late handled once", 1, func(e entry) bool { return e.what == "handled" && e.user == "late" })
	require.Equal(t, live[ownerOf(t, live[0].node, live, late)].name(), lateHandled[0].node, "late handled by its counter's new owner")
	require.Empty(t, j.filter(func(e entry) bool {
		return e.what == "reminder" && (e.kind == temporal.EventMissed || e.kind == temporal.EventFailed)
	}), "no reminder missed or failed")

	// The counters' durable counts agree.
	for id, want := range map[string]int64{target: int64(slots - lostMidRun), late: 1, beat: int64(slots + 1)} {
		got, err := live[0].node.Request(ctx, live[0].caller, &counterpb.Get{Counter: id})
		require.NoError(t, err)
		require.Equal(t, want, got.(*counterpb.Value).Count, "counter %s", id)
	}
	require.Empty(t, clustertest.Misplaced(live[0].node, live[1].node))
}
