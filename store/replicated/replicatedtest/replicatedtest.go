// Package replicatedtest starts replicated stores in process for tests: a
// cluster of members on loopback with free ports, each in its own
// directory, closed when the test ends.
package replicatedtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated"
)

// Cluster starts n members' stores (routes on 127.0.0.1, any free port)
// and waits until each serves calls. Member i is named "m<i>"; its
// directory is under t.TempDir. Each store is closed when t ends unless
// the test closed it.
func Cluster(t testing.TB, n int, adjust func(i int, cfg *replicated.Config)) []*replicated.Store {
	t.Helper()
	// JetStream's cluster wants every member configured with routes, so
	// the route ports are chosen before the servers start.
	peers := FreeAddrs(t, n)
	stores := make([]*replicated.Store, n)
	for i := range n {
		cfg := replicated.Config{
			Name:   fmt.Sprintf("m%d", i),
			Dir:    t.TempDir(),
			Listen: peers[i],
			Peers:  peers,
			Logger: quiet(),
		}
		if n > 1 {
			cfg.Replicas = min(3, n)
		} else {
			cfg.Listen, cfg.Peers = "", nil
		}
		if adjust != nil {
			adjust(i, &cfg)
		}
		s, err := replicated.Open(cfg)
		require.NoError(t, err, "opening member %d", i)
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Errorf("closing member %d: %v", i, err)
			}
		})
		stores[i] = s
	}
	for i, s := range stores {
		WaitReady(t, s, fmt.Sprintf("member %d", i))
	}
	return stores
}

// FreeAddrs returns n loopback addresses whose ports were free a moment
// ago (bound to port 0, then released).
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[i] = ln.Addr().String()
		require.NoError(t, ln.Close())
	}
	return addrs
}

// WaitReady waits up to 60 s for s to serve calls.
func WaitReady(t testing.TB, s *replicated.Store, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-s.Ready():
	case <-ctx.Done():
		t.Fatalf("%s: the replicated store was not ready within 60 s", what)
	}
}

// quiet logs only the stores' errors.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { return len(p), nil }
