package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clusterpb"
	"github.com/packetflow/packetflow/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// Deadlines for conditions that take a few gossip rounds (convergence) and
// for failure detection with the Fast profile (about 1 s); generous for -race
// on two cores.
const (
	converge = 10 * time.Second
	detect   = 15 * time.Second
)

func TestConverges(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			t.Parallel()
			nw := clustertest.NewNetwork()
			ms := nw.StartMemberships(t, n, func(i int, cfg *cluster.MembershipConfig) {
				cfg.Kinds = []string{"filesystem"}
				if i%2 == 0 {
					cfg.Kinds = []string{"filesystem", "counter", "counter"}
				}
			})
			clustertest.WaitConverged(t, ms, n, converge)

			want := make([]cluster.Member, n)
			for i, m := range ms {
				want[i] = m.Local()
				assert.Equal(t, cluster.StatusAlive, want[i].Status)
				assert.NotEmpty(t, want[i].Gossip)
				assert.Equal(t, i%2 == 0, want[i].Hosts("counter"))
				assert.True(t, want[i].Hosts("filesystem"))
			}
			slices.SortFunc(want, func(a, b cluster.Member) int { return strings.Compare(a.ID, b.ID) })
			for _, m := range ms {
				assert.Equal(t, want, m.Members(), "%s's view", m.Local().Name)
			}
		})
	}
}

func TestSubscribeReplaysMembersThenDeliversInOrder(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3)
	clustertest.WaitConverged(t, ms, 3, converge)

	ms[0].Subscribe(func(cluster.Event) { panic("a broken subscriber") })
	var cancelled []cluster.Event
	var mu sync.Mutex
	cancel := ms[0].Subscribe(func(ev cluster.Event) {
		mu.Lock()
		cancelled = append(cancelled, ev)
		mu.Unlock()
	})
	rec := clustertest.Record(t, ms[0])
	rec.WaitFor(t, converge, "the replay", func(ev cluster.Event) bool { return ev.Member.Name == "n3" })
	cancel()
	cancel()

	clustertest.Kill(ms[2])
	rec.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))

	var got []string
	for _, ev := range rec.Events() {
		got = append(got, ev.Kind.String()+" "+ev.Member.Name)
	}
	assert.Equal(t, []string{"joined n1", "joined n2", "joined n3", "died n3"}, got,
		"current members first (sorted by id), then events; the panicking subscriber did not stop delivery")
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, cancelled, 3, "a cancelled subscriber hears nothing more")
}

func TestGracefulLeaveReportsLeft(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 4)
	clustertest.WaitConverged(t, ms, 4, converge)
	recs := recordAll(t, ms)

	leaver := ms[3]
	require.NoError(t, leaver.Leave(2*time.Second))
	assert.Contains(t, recs[3].Events(), cluster.Event{Kind: cluster.EventLeft, Member: memberWith(ms[3].Local(), cluster.StatusLeft)},
		"the leaver's own subscribers hear it left before Leave returns")
	assert.Equal(t, cluster.StatusLeft, leaver.Local().Status)

	for _, r := range recs[:3] {
		ev := r.WaitFor(t, detect, "left n4", clustertest.Is(cluster.EventLeft, "n4"))
		assert.Equal(t, cluster.StatusLeft, ev.Member.Status)
	}
	clustertest.WaitConverged(t, ms[:3], 3, converge)
	for _, r := range recs[:3] {
		assert.NotContains(t, kinds(r.Events()), cluster.EventDied, "a graceful leave is not a death")
	}

	assert.ErrorIs(t, leaver.Leave(time.Second), cluster.ErrStopped)
	assert.ErrorIs(t, leaver.SetKinds([]string{"x"}, time.Second), cluster.ErrStopped)
	leaver.Subscribe(func(cluster.Event) { t.Error("a stopped membership delivers nothing") })()
	leaver.Shutdown()
}

func TestKilledNodeReportsDied(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3)
	clustertest.WaitConverged(t, ms, 3, converge)
	recs := recordAll(t, ms[:2])

	killed := ms[2].Local()
	start := time.Now()
	clustertest.Kill(ms[2])
	clustertest.Kill(ms[2]) // idempotent
	for _, r := range recs {
		ev := r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
		assert.Equal(t, memberWith(killed, cluster.StatusDead), ev.Member)
		assert.NotContains(t, kinds(r.Events()), cluster.EventLeft)
	}
	t.Logf("kill detected in %v (suspicion timeout %v)", time.Since(start), cluster.FastProfile().SuspicionTimeout(3))
	clustertest.WaitConverged(t, ms[:2], 2, converge)
	assert.Equal(t, cluster.StatusDead, ms[2].Local().Status)
}

// A partition shorter than the suspicion timeout makes memberlist suspect
// members, but they refute in time and nobody is reported gone. The
// suspicion timeout is raised to 3 s so that the partition (healed as soon
// as the suspicion shows in memberlist's log) and the refutation fit in it
// many times over.
func TestShortPartitionIsNotDeath(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	profile := cluster.FastProfile()
	profile.SuspicionMult = 15
	suspicion := profile.SuspicionTimeout(3)
	require.Equal(t, 3*time.Second, suspicion)
	logs := make([]*logCapture, 3)
	ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
		cfg.Profile = profile
		logs[i] = captureLogs(t)
		cfg.Logger = logs[i].logger()
	})
	clustertest.WaitConverged(t, ms, 3, converge)
	recs := recordAll(t, ms)

	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	waitAnyLog(t, detect, "Suspect n3 has failed", logs[0], logs[1])
	suspected := time.Now()
	nw.Heal()
	logs[2].waitFor(t, detect, "Refuting a suspect message")

	// Every suspicion began before the heal, so by suspected+timeout (plus a
	// margin) each has been refuted or would have been declared.
	assert.Never(t, func() bool {
		for _, r := range recs {
			if ks := kinds(r.Events()); slices.Contains(ks, cluster.EventDied) || slices.Contains(ks, cluster.EventLeft) {
				return true
			}
		}
		return false
	}, time.Until(suspected.Add(suspicion+time.Second)), 50*time.Millisecond, "no member is reported gone for a suspicion")
	for _, l := range logs {
		assert.False(t, l.contains("suspect timeout reached"), "memberlist declared no one dead")
	}
	clustertest.WaitConverged(t, ms, 3, converge)
}

// A longer partition gets each side declared dead by the other. After it
// heals, the isolated node's process restarts with a fresh id under the
// same name and address, and is a new member.
func TestPartitionDeclaresDeadAndRestartRejoins(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3)
	clustertest.WaitConverged(t, ms, 3, converge)
	recs := recordAll(t, ms)
	isolated := ms[2].Local()

	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
	for _, r := range recs[:2] {
		r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
	}
	recs[2].WaitFor(t, detect, "died n1", clustertest.Is(cluster.EventDied, "n1"))
	recs[2].WaitFor(t, detect, "died n2", clustertest.Is(cluster.EventDied, "n2"))
	clustertest.WaitConverged(t, ms[:2], 2, converge)
	clustertest.WaitConverged(t, ms[2:], 1, converge)
	assert.Positive(t, nw.Dropped())

	nw.Heal()
	clustertest.Kill(ms[2])
	restarted := nw.Start(t, cluster.MembershipConfig{NodeName: "n3", Join: []string{ms[0].Local().Gossip}})
	require.NotEqual(t, isolated.ID, restarted.Local().ID)
	require.Equal(t, isolated.Gossip, restarted.Local().Gossip, "same name, same address")
	for _, r := range recs[:2] {
		ev := r.WaitFor(t, converge, "joined n3 with its new id", func(ev cluster.Event) bool {
			return ev.Kind == cluster.EventJoined && ev.Member.ID == restarted.Local().ID
		})
		assert.Equal(t, "n3", ev.Member.Name)
	}
	now := []*cluster.Membership{ms[0], ms[1], restarted}
	clustertest.WaitConverged(t, now, 3, converge)
	for _, m := range now {
		assert.NotContains(t, ids(m.Members()), isolated.ID)
	}
}

// A process that restarts before its old self is declared dead replaces it:
// peers report the old id died and the new one joined.
func TestFastRestartReplacesMember(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3)
	clustertest.WaitConverged(t, ms, 3, converge)
	rec := clustertest.Record(t, ms[0])
	old := ms[2].Local()

	clustertest.Kill(ms[2])
	restarted := nw.Start(t, cluster.MembershipConfig{NodeName: "n3", Join: []string{ms[0].Local().Gossip}})
	fresh := restarted.Local()
	rec.WaitFor(t, detect, "joined n3 with the new id", func(ev cluster.Event) bool {
		return ev.Kind == cluster.EventJoined && ev.Member.ID == fresh.ID
	})
	died := rec.WaitFor(t, detect, "died n3 with the old id", func(ev cluster.Event) bool {
		return ev.Kind == cluster.EventDied && ev.Member.ID == old.ID
	})
	assert.Equal(t, memberWith(old, cluster.StatusDead), died.Member)
	events := rec.Events()
	assert.Less(t,
		slices.IndexFunc(events, func(ev cluster.Event) bool { return ev.Kind == cluster.EventDied && ev.Member.ID == old.ID }),
		slices.IndexFunc(events, func(ev cluster.Event) bool { return ev.Member.ID == fresh.ID }),
		"the old id is reported gone before the new one joins")
	clustertest.WaitConverged(t, []*cluster.Membership{ms[0], ms[1], restarted}, 3, converge)
}

// Proto.Actor never readmits a member id it was told has left, so neither
// does the membership: a node reusing a dead member's id is refused.
func TestRestartWithOldIDIsRefused(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	logs := make([]*logCapture, 2)
	ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
		if i < 2 {
			logs[i] = captureLogs(t)
			cfg.Logger = logs[i].logger()
		}
	})
	clustertest.WaitConverged(t, ms, 3, converge)
	recs := recordAll(t, ms[:2])
	old := ms[2].Local()
	clustertest.Kill(ms[2])
	for _, r := range recs {
		r.WaitFor(t, detect, "died n3", clustertest.Is(cluster.EventDied, "n3"))
	}

	nw.Start(t, cluster.MembershipConfig{NodeName: "n3", ID: old.ID, Join: []string{ms[0].Local().Gossip}})
	for _, l := range logs {
		l.waitFor(t, detect, fmt.Sprintf(`member id %q was already reported left or dead`, old.ID))
	}
	for i, r := range recs {
		assert.Len(t, ms[i].Members(), 2)
		assert.Equal(t, 1, count(r.Events(), func(ev cluster.Event) bool { return ev.Member.ID == old.ID && ev.Kind == cluster.EventJoined }))
	}
}

func TestOtherClusterIsNeverAMember(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	log0 := captureLogs(t)
	ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
		if i == 0 {
			cfg.Logger = log0.logger()
		}
	})
	clustertest.WaitConverged(t, ms, 3, converge)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cfg := nw.Prepare(cluster.MembershipConfig{ClusterName: "other", Join: []string{ms[0].Local().Gossip},
		Logger: clustertest.Logger(t, slog.LevelInfo)})
	_, err := cluster.StartMembership(ctx, cfg)
	require.ErrorIs(t, err, cluster.ErrJoin)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), ms[0].Local().Gossip)
	assert.True(t, log0.contains(`discarding stream with unacceptable label "other"`), "n1 dropped the join unread")
	for _, m := range ms {
		assert.Len(t, m.Members(), 3)
	}
}

// Peers speaking the cluster's label but with unacceptable metadata are
// refused by every member. The intruder is a bare memberlist.
func TestBadPeersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		meta   func(ms []*cluster.Membership) []byte
		reason string
	}{
		{"malformed metadata", func([]*cluster.Membership) []byte { return []byte{0xff, 0xfe, 0xfd} }, "malformed metadata"},
		{"another cluster", func([]*cluster.Membership) []byte {
			return metaBytes(t, &clusterpb.MemberMeta{Cluster: "other", Id: "intruder-1", Address: "h:1"})
		}, `cluster "other"`},
		{"no id", func([]*cluster.Membership) []byte {
			return metaBytes(t, &clusterpb.MemberMeta{Cluster: "packetflow", Address: "h:1"})
		}, "no member id"},
		{"a live member's id", func(ms []*cluster.Membership) []byte {
			return metaBytes(t, &clusterpb.MemberMeta{Cluster: "packetflow", Id: ms[1].Local().ID, Address: "h:1"})
		}, `already used by node "n2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nw := clustertest.NewNetwork()
			logs := make([]*logCapture, 3)
			ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
				logs[i] = captureLogs(t)
				cfg.Logger = logs[i].logger()
			})
			clustertest.WaitConverged(t, ms, 3, converge)
			recs := recordAll(t, ms)

			intruder := startBareMemberlist(t, nw, "intruder", tc.meta(ms))
			_, err := intruder.Join([]string{ms[0].Local().Gossip})
			require.NoError(t, err, "the intruder reaches n1")
			for _, l := range logs {
				l.waitFor(t, detect, "refused peer node=intruder reason=")
				assert.True(t, l.contains(tc.reason), "reason %q", tc.reason)
			}
			for i, m := range ms {
				assert.Len(t, m.Members(), 3)
				assert.Zero(t, count(recs[i].Events(), func(ev cluster.Event) bool { return ev.Member.Name == "intruder" }))
			}
		})
	}
}

func TestSetKindsGossipsAnUpdate(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3)
	clustertest.WaitConverged(t, ms, 3, converge)
	recs := recordAll(t, ms[1:])

	require.NoError(t, ms[0].SetKinds([]string{"filesystem", "counter", "counter"}, 2*time.Second))
	assert.Equal(t, []string{"counter", "filesystem"}, ms[0].Local().Kinds)
	for _, r := range recs {
		ev := r.WaitFor(t, converge, "updated n1", clustertest.Is(cluster.EventUpdated, "n1"))
		assert.Equal(t, []string{"counter", "filesystem"}, ev.Member.Kinds)
	}

	err := ms[0].SetKinds(manyKinds(60), time.Second)
	var tooLarge *cluster.MetaTooLargeError
	require.ErrorAs(t, err, &tooLarge)
	assert.Equal(t, []string{"counter", "filesystem"}, ms[0].Local().Kinds, "unchanged")
}

func TestStartRefusesBadConfig(t *testing.T) {
	ok := cluster.MembershipConfig{NodeName: "n1", ID: "id-1", Address: "127.0.0.1:8090"}
	for _, tc := range []struct {
		name   string
		change func(*cluster.MembershipConfig)
		want   string
	}{
		{"no id", func(c *cluster.MembershipConfig) { c.ID = "" }, "ID is required"},
		{"no address", func(c *cluster.MembershipConfig) { c.Address = "" }, "Address \"\" is not host:port"},
		{"bad address", func(c *cluster.MembershipConfig) { c.Address = "localhost" }, "not host:port"},
		{"empty kind", func(c *cluster.MembershipConfig) { c.Kinds = []string{"counter", ""} }, "empty reactor kind"},
		{"too many kinds", func(c *cluster.MembershipConfig) { c.Kinds = manyKinds(40) }, "over memberlist's limit of 512 bytes (too many kinds: 40)"},
		{"bind not host:port", func(c *cluster.MembershipConfig) { c.Bind = "7946" }, "Bind \"7946\" is not host:port"},
		{"bind host name", func(c *cluster.MembershipConfig) { c.Bind = "localhost:7946" }, "the host must be an IP address"},
		{"bind bad port", func(c *cluster.MembershipConfig) { c.Bind = "127.0.0.1:99999" }, "bad port"},
		{"advertise without host", func(c *cluster.MembershipConfig) { c.Advertise = ":7946" }, "Advertise \":7946\" has no host"},
		{"empty join address", func(c *cluster.MembershipConfig) { c.Join = []string{" "} }, "Join has an empty address"},
		{"short key", func(c *cluster.MembershipConfig) { c.SecretKey = make([]byte, 7) },
			"SecretKey is 7 bytes; memberlist's encryption key must be 16, 24 or 32 bytes"},
		{"long key", func(c *cluster.MembershipConfig) { c.SecretKey = make([]byte, 33) }, "SecretKey is 33 bytes"},
		{"partial profile", func(c *cluster.MembershipConfig) { c.Profile = cluster.Profile{ProbeInterval: time.Second} },
			"Profile: ProbeTimeout must be positive and below ProbeInterval"},
		{"long cluster name", func(c *cluster.MembershipConfig) { c.ClusterName = strings.Repeat("x", 256) }, "over memberlist's label limit of 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw := clustertest.NewNetwork()
			cfg := ok
			cfg.Transport = nw.Transport("n1")
			tc.change(&cfg)
			_, err := cluster.StartMembership(context.Background(), cfg)
			require.ErrorIs(t, err, cluster.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotPanics(t, func() { nw.Transport("n1") }, "a failed start shut the transport down")
		})
	}
}

func TestSecretKey(t *testing.T) {
	t.Parallel()
	nw := clustertest.NewNetwork()
	key := []byte("0123456789abcdef")
	ms := nw.StartMemberships(t, 2, func(_ int, cfg *cluster.MembershipConfig) { cfg.SecretKey = key })
	clustertest.WaitConverged(t, ms, 2, converge)

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := cluster.StartMembership(ctx, nw.Prepare(cluster.MembershipConfig{
		SecretKey: []byte("another key, 24 bytes ok"), Join: []string{ms[0].Local().Gossip},
		Logger: clustertest.Logger(t, slog.LevelInfo),
	}))
	require.ErrorIs(t, err, cluster.ErrJoin, "a node with another key cannot join")
	for _, m := range ms {
		assert.Len(t, m.Members(), 2)
	}
}

// The one test on real sockets: memberlist's UDP and TCP transport on
// loopback, with kernel-chosen ports.
func TestRealNetwork(t *testing.T) {
	t.Parallel()
	start := func(name string, join ...string) *cluster.Membership {
		ctx, cancel := context.WithTimeout(context.Background(), clustertest.StartTimeout)
		defer cancel()
		m, err := cluster.StartMembership(ctx, cluster.MembershipConfig{
			NodeName: name, ID: name + "-1", Address: "127.0.0.1:8090", Kinds: []string{"counter"},
			Bind: "127.0.0.1:0", Join: join, Profile: cluster.FastProfile(),
			Logger: clustertest.Logger(t, slog.LevelInfo),
		})
		require.NoError(t, err)
		t.Cleanup(m.Shutdown)
		return m
	}
	a := start("a")
	host, port, err := net.SplitHostPort(a.Local().Gossip)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port, "the actual port is reported")
	b := start("b", a.Local().Gossip)
	clustertest.WaitConverged(t, []*cluster.Membership{a, b}, 2, converge)
	rec := clustertest.Record(t, a)

	require.NoError(t, b.Leave(2*time.Second))
	rec.WaitFor(t, detect, "left b", clustertest.Is(cluster.EventLeft, "b"))
	clustertest.WaitConverged(t, []*cluster.Membership{a}, 1, converge)
}

func recordAll(t *testing.T, ms []*cluster.Membership) []*clustertest.Recorder {
	recs := make([]*clustertest.Recorder, len(ms))
	for i, m := range ms {
		recs[i] = clustertest.Record(t, m)
	}
	return recs
}

func memberWith(m cluster.Member, s cluster.Status) cluster.Member {
	m.Status = s
	return m
}

func kinds(events []cluster.Event) []cluster.EventKind {
	out := make([]cluster.EventKind, len(events))
	for i, ev := range events {
		out[i] = ev.Kind
	}
	return out
}

func ids(members []cluster.Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.ID
	}
	return out
}

func count(events []cluster.Event, match func(cluster.Event) bool) int {
	n := 0
	for _, ev := range events {
		if match(ev) {
			n++
		}
	}
	return n
}

func manyKinds(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("reactor-kind-%02d", i)
	}
	return out
}

func metaBytes(t *testing.T, m *clusterpb.MemberMeta) []byte {
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// startBareMemberlist starts a memberlist that speaks the cluster's label
// but gossips meta as its metadata.
func startBareMemberlist(t *testing.T, nw *clustertest.Network, name string, meta []byte) *memberlist.Memberlist {
	c := memberlist.DefaultLANConfig()
	c.Name = name
	c.Label = cluster.DefaultClusterName
	c.Transport = nw.Transport(name)
	c.Delegate = fixedMeta(meta)
	c.Logger = log.New(io.Discard, "", 0)
	c.ProbeInterval, c.ProbeTimeout = 200*time.Millisecond, 100*time.Millisecond
	c.GossipInterval = 50 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	ml, err := memberlist.Create(c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ml.Shutdown() })
	return ml
}

type fixedMeta []byte

func (m fixedMeta) NodeMeta(int) []byte           { return m }
func (fixedMeta) NotifyMsg([]byte)                {}
func (fixedMeta) GetBroadcasts(int, int) [][]byte { return nil }
func (fixedMeta) LocalState(bool) []byte          { return nil }
func (fixedMeta) MergeRemoteState([]byte, bool)   {}

// logCapture keeps every log line of a membership, memberlist's included,
// as "msg key=value …", and passes it on to the test log.
type logCapture struct {
	next slog.Handler
	// mu guards lines.
	mu    sync.Mutex
	lines []string
}

func captureLogs(t *testing.T) *logCapture {
	return &logCapture{next: clustertest.Logger(t, slog.LevelInfo).Handler()}
}

func (c *logCapture) logger() *slog.Logger { return slog.New(c) }

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	c.mu.Lock()
	c.lines = append(c.lines, b.String())
	c.mu.Unlock()
	if c.next.Enabled(ctx, r.Level) {
		return c.next.Handle(ctx, r)
	}
	return nil
}

func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) contains(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.lines, func(l string) bool { return strings.Contains(l, s) })
}

func (c *logCapture) waitFor(t *testing.T, timeout time.Duration, s string) {
	t.Helper()
	waitAnyLog(t, timeout, s, c)
}

// waitAnyLog waits until one of logs has a line containing s, polling.
func waitAnyLog(t *testing.T, timeout time.Duration, s string, logs ...*logCapture) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range logs {
			if l.contains(s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line containing %q within %v", s, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
