package clustertest_test

import (
	"io"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// receive returns the next packet t received, or fails after a second.
func receive(t *testing.T, tr memberlist.Transport) *memberlist.Packet {
	t.Helper()
	select {
	case p := <-tr.PacketCh():
		return p
	case <-time.After(time.Second):
		t.Fatal("no packet")
		return nil
	}
}

func noPacket(t *testing.T, tr memberlist.Transport) {
	t.Helper()
	select {
	case p := <-tr.PacketCh():
		t.Fatalf("unexpected packet %q", p.Buf)
	default:
	}
}

func addr(t *testing.T, tr memberlist.Transport) memberlist.Address {
	ip, port, err := tr.FinalAdvertiseAddr("", 0)
	require.NoError(t, err)
	return memberlist.Address{Addr: (&memberlist.Node{Addr: ip, Port: uint16(port)}).Address()}
}

func TestPacketsAndPartitions(t *testing.T) {
	nw := clustertest.NewNetwork()
	a, b, c := nw.Transport("a"), nw.Transport("b"), nw.Transport("c")
	defer func() { _, _, _ = a.Shutdown(), b.Shutdown(), c.Shutdown() }()

	buf := []byte("ping")
	_, err := a.WriteToAddress(buf, addr(t, b))
	require.NoError(t, err)
	buf[0] = 'X' // the network delivered a copy
	p := receive(t, b)
	assert.Equal(t, "ping", string(p.Buf))
	assert.Equal(t, addr(t, a).Addr, p.From.String())

	nw.Partition([]string{"a"}) // a alone; b and c together
	_, err = a.WriteToAddress([]byte("lost"), addr(t, b))
	require.NoError(t, err, "a dropped packet is not an error, as with UDP")
	_, err = c.WriteToAddress([]byte("c to b"), addr(t, b))
	require.NoError(t, err)
	assert.Equal(t, "c to b", string(receive(t, b).Buf))
	noPacket(t, b)
	assert.Equal(t, uint64(1), nw.Dropped())

	_, err = a.DialAddressTimeout(addr(t, b), time.Second)
	assert.ErrorContains(t, err, "connection refused")

	nw.Heal()
	_, err = a.WriteToAddress([]byte("again"), addr(t, b))
	require.NoError(t, err)
	assert.Equal(t, "again", string(receive(t, b).Buf))

	assert.Panics(t, func() { nw.Partition([]string{"a", "b"}, []string{"b"}) })
}

func TestStreams(t *testing.T) {
	nw := clustertest.NewNetwork()
	a, b := nw.Transport("a"), nw.Transport("b")
	defer func() { _ = a.Shutdown() }()

	conn, err := a.DialAddressTimeout(addr(t, b), time.Second)
	require.NoError(t, err)
	server := <-b.StreamCh()
	assert.Equal(t, addr(t, a).Addr, server.RemoteAddr().String())
	assert.Equal(t, addr(t, b).Addr, conn.RemoteAddr().String())
	go func() { _, _ = conn.Write([]byte("hello")); _ = conn.Close() }()
	got, err := io.ReadAll(server)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	_ = server.Close()

	// A stream nobody accepted is closed when its transport shuts down.
	pending, err := a.DialAddressTimeout(addr(t, b), time.Second)
	require.NoError(t, err)
	require.NoError(t, b.Shutdown())
	_, err = pending.Write([]byte("x"))
	assert.Error(t, err)

	_, err = a.DialAddressTimeout(addr(t, b), time.Second)
	assert.ErrorContains(t, err, "connection refused", "a stopped node refuses streams")
	_, err = b.WriteToAddress([]byte("x"), addr(t, a))
	assert.Error(t, err, "a stopped transport sends nothing")
}

func TestNamesKeepTheirAddress(t *testing.T) {
	nw := clustertest.NewNetwork()
	a := nw.Transport("a")
	first := addr(t, a)
	assert.Panics(t, func() { nw.Transport("a") }, "one running node per name")
	require.NoError(t, a.Shutdown())
	again := nw.Transport("a")
	defer func() { _ = again.Shutdown() }()
	assert.Equal(t, first, addr(t, again))
	assert.NotEqual(t, first, addr(t, nw.Transport("b")))
}

func TestKitStartsAndKills(t *testing.T) {
	nw := clustertest.NewNetwork()
	ms := nw.StartMemberships(t, 3, func(i int, cfg *cluster.MembershipConfig) {
		cfg.Kinds = []string{"counter"}
	})
	clustertest.WaitConverged(t, ms, 3, 5*time.Second)
	for i, m := range ms {
		local := m.Local()
		assert.Equal(t, []string{"counter"}, local.Kinds)
		assert.Equal(t, local.Name+".invalid:8090", local.Address)
		assert.Equal(t, []string{"n1", "n2", "n3"}[i], local.Name)
	}
	more := nw.StartMemberships(t, 1, func(_ int, cfg *cluster.MembershipConfig) {
		cfg.Join = []string{ms[0].Local().Gossip}
	})
	assert.Equal(t, "n4", more[0].Local().Name, "names keep counting on a network")
	all := append(ms, more...)
	clustertest.WaitConverged(t, all, 4, 5*time.Second)

	rec := clustertest.Record(t, ms[0])
	clustertest.Kill(more[0])
	ev := rec.WaitFor(t, 10*time.Second, "died n4", clustertest.Is(cluster.EventDied, "n4"))
	assert.Equal(t, cluster.StatusDead, ev.Member.Status)
	clustertest.WaitConverged(t, ms, 3, 5*time.Second)
}
