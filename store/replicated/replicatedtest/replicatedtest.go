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
	"strings"
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
	// the route ports are chosen before the servers start. A port free a
	// moment ago may have been taken since by another process: then the
	// whole cluster starts again on other ports.
	var stores []*replicated.Store
	for attempt := 1; ; attempt++ {
		var err error
		stores, err = open(t, n, adjust)
		if err == nil {
			break
		}
		if attempt == 5 || !strings.Contains(err.Error(), "address already in use") {
			require.NoError(t, err)
		}
		t.Logf("replicatedtest: %v; starting again on other ports", err)
	}
	for i, s := range stores {
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Errorf("closing member %d: %v", i, err)
			}
		})
	}
	for i, s := range stores {
		WaitReady(t, s, fmt.Sprintf("member %d", i))
	}
	return stores
}

// open opens n members on fresh ports; on an error it closes those it
// opened.
func open(t testing.TB, n int, adjust func(i int, cfg *replicated.Config)) ([]*replicated.Store, error) {
	peers := FreeAddrs(t, n)
	stores := make([]*replicated.Store, 0, n)
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
		if err != nil {
			for _, o := range stores {
				_ = o.Close()
			}
			return nil, fmt.Errorf("opening member %d: %w", i, err)
		}
		stores = append(stores, s)
	}
	return stores, nil
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
