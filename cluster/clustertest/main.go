package clustertest

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// LeakSettle is how long Main lets goroutines end after the tests before it
// reports them as leaked. memberlist does not wait for its probe and gossip
// goroutines on Shutdown; they end within a probe interval.
const LeakSettle = 5 * time.Second

// Main runs a test binary's tests, then fails it if goroutines are left
// once LeakSettle has passed. Call it from TestMain in packages whose tests
// start memberships.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(LeakSettle)
		err := goleak.Find()
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FreeAddr returns a loopback host:port that was free for both TCP and UDP
// (gossip uses both) at the time of the call, for tests that start members
// in other processes and must name their ports in advance. Another process
// may take it meanwhile; in-process tests should bind port 0 instead.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return addr
		}
	}
	t.Fatal("clustertest: no port free for both TCP and UDP")
	return ""
}
