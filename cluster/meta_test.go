package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/cluster/clusterpb"
)

func node(name string, meta []byte) *memberlist.Node {
	return &memberlist.Node{Name: name, Addr: []byte{127, 0, 0, 1}, Port: 7946, Meta: meta}
}

func marshal(t testing.TB, m *clusterpb.MemberMeta) []byte {
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMetaRoundTrip(t *testing.T) {
	local := Member{ID: "id-1", Name: "n1", Address: "10.0.0.1:8090", Kinds: []string{"counter", "filesystem"}}
	b, err := encodeMeta("packetflow", local)
	require.NoError(t, err)
	assert.Less(t, len(b), 64, "compact: a typical member's metadata is a few dozen bytes")

	got, err := memberOf(node("n1", b), "packetflow")
	require.NoError(t, err)
	assert.Equal(t, Member{ID: "id-1", Name: "n1", Address: "10.0.0.1:8090", Kinds: []string{"counter", "filesystem"},
		Gossip: "127.0.0.1:7946", Status: StatusAlive}, got)
}

func TestMetaOverLimit(t *testing.T) {
	kinds := make([]string, 40)
	for i := range kinds {
		kinds[i] = fmt.Sprintf("reactor-kind-%02d", i)
	}
	_, err := encodeMeta("packetflow", Member{ID: "id", Address: "h:1", Kinds: kinds})
	var tooLarge *MetaTooLargeError
	require.ErrorAs(t, err, &tooLarge)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Equal(t, memberlist.MetaMaxSize, tooLarge.Limit)
	assert.Greater(t, tooLarge.Size, memberlist.MetaMaxSize)
	assert.Contains(t, err.Error(), fmt.Sprintf("%d bytes", tooLarge.Size))
	assert.Contains(t, err.Error(), "limit of 512 bytes")
	assert.Contains(t, err.Error(), "too many kinds: 40")
}

func TestMemberOfRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		meta       []byte
	}{
		{"empty", `belongs to cluster ""`, nil},
		{"garbage", "malformed metadata", []byte{0xff, 0xff, 0xff}},
		{"truncated", "malformed metadata", marshal(t, &clusterpb.MemberMeta{Cluster: "packetflow", Id: "x", Address: "h:1"})[:5]},
		{"bad utf-8", "malformed metadata", []byte{0x12, 0x02, 0xc3, 0x28}},
		{"other cluster", `belongs to cluster "other", not "packetflow"`, marshal(t, &clusterpb.MemberMeta{Cluster: "other", Id: "x", Address: "h:1"})},
		{"no cluster", `belongs to cluster "", not "packetflow"`, marshal(t, &clusterpb.MemberMeta{Id: "x", Address: "h:1"})},
		{"no id", "no member id", marshal(t, &clusterpb.MemberMeta{Cluster: "packetflow", Address: "h:1"})},
		{"no address", "no actor address", marshal(t, &clusterpb.MemberMeta{Cluster: "packetflow", Id: "x"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := memberOf(node("n", tc.meta), "packetflow")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMemberOfNormalizesKinds(t *testing.T) {
	b := marshal(t, &clusterpb.MemberMeta{Cluster: "c", Id: "x", Address: "h:1", Kinds: []string{"b", "a", "b"}})
	m, err := memberOf(node("n", b), "c")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, m.Kinds)
}

func FuzzMemberOf(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Add(marshal(f, &clusterpb.MemberMeta{Cluster: "packetflow", Id: "x", Address: "h:1", Kinds: []string{"k"}}))
	f.Fuzz(func(t *testing.T, meta []byte) {
		m, err := memberOf(node("n", meta), "packetflow")
		if err == nil {
			assert.NotEmpty(t, m.ID)
			assert.NotEmpty(t, m.Address)
			assert.True(t, slices.IsSorted(m.Kinds))
		}
	})
}

func TestNormalizeKinds(t *testing.T) {
	ks, err := normalizeKinds([]string{"filesystem", "counter", "counter"})
	require.NoError(t, err)
	assert.Equal(t, []string{"counter", "filesystem"}, ks)
	_, err = normalizeKinds([]string{"counter", ""})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestAdmission(t *testing.T) {
	meta := func(c, id string) []byte {
		return marshal(t, &clusterpb.MemberMeta{Cluster: c, Id: id, Address: "h:1"})
	}
	a := newAdmission("packetflow", discardLogger())
	require.NoError(t, a.NotifyAlive(node("n1", meta("packetflow", "id-1"))))
	a.listed("n1", "id-1")
	assert.NoError(t, a.NotifyAlive(node("n1", meta("packetflow", "id-1"))), "the same node again")

	err := a.NotifyAlive(node("n2", meta("packetflow", "id-1")))
	assert.ErrorContains(t, err, `member id "id-1" is already used by node "n1"`)
	assert.ErrorContains(t, a.NotifyAlive(node("n2", meta("other", "id-2"))), `cluster "other"`)
	assert.ErrorContains(t, a.NotifyAlive(node("n2", []byte{0xff})), "malformed")

	// n1 restarts under the same name with a new id: the old id is gone.
	a.listed("n1", "id-1b")
	assert.ErrorContains(t, a.NotifyAlive(node("n1", meta("packetflow", "id-1"))), "fresh id")
	// n1 dies: its id never comes back.
	a.unlisted("n1")
	assert.ErrorContains(t, a.NotifyAlive(node("n1", meta("packetflow", "id-1b"))), `member id "id-1b" was already reported left or dead`)
	assert.NoError(t, a.NotifyAlive(node("n1", meta("packetflow", "id-1c"))))
}

func TestAdmissionMerge(t *testing.T) {
	a := newAdmission("packetflow", discardLogger())
	ours := marshal(t, &clusterpb.MemberMeta{Cluster: "packetflow", Id: "x", Address: "h:1"})
	theirs := marshal(t, &clusterpb.MemberMeta{Cluster: "other", Id: "y", Address: "h:1"})
	assert.NoError(t, a.NotifyMerge([]*memberlist.Node{node("a", ours), node("bad", []byte{0xff})}),
		"a node with bad metadata alone does not stop a merge: NotifyAlive refuses it")
	dead := node("gone", theirs)
	dead.State = memberlist.StateDead
	assert.NoError(t, a.NotifyMerge([]*memberlist.Node{node("a", ours), dead}))
	err := a.NotifyMerge([]*memberlist.Node{node("a", ours), node("b", theirs)})
	assert.ErrorContains(t, err, `node "b" of cluster "other" (this is cluster "packetflow")`)
}

func TestProfiles(t *testing.T) {
	lan := memberlist.DefaultLANConfig()
	p := LANProfile()
	assert.Equal(t, lan.ProbeInterval, p.ProbeInterval)
	assert.Equal(t, lan.SuspicionMult, p.SuspicionMult)
	assert.Equal(t, lan.PushPullInterval, p.PushPullInterval)
	require.NoError(t, p.validate())
	require.NoError(t, FastProfile().validate())

	fast := FastProfile()
	assert.Equal(t, 400*time.Millisecond, fast.SuspicionTimeout(3))
	assert.Equal(t, 400*time.Millisecond, fast.SuspicionTimeout(10))
	assert.InDelta(t, float64(520*time.Millisecond), float64(fast.SuspicionTimeout(20)), float64(time.Millisecond))
	assert.Equal(t, 4*time.Second, p.SuspicionTimeout(5))

	broken := fast
	broken.ProbeTimeout = fast.ProbeInterval
	err := broken.validate()
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.True(t, strings.Contains(err.Error(), "ProbeTimeout must be positive and below ProbeInterval"), err)
	assert.True(t, errors.Is(Profile{ProbeInterval: time.Second}.validate(), ErrInvalidConfig))
}
