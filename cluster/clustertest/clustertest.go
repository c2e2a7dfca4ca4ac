// Package clustertest runs cluster memberships in one process, on an
// in-memory network that tests can partition and heal — the cluster's
// counterpart of net/http/httptest.
//
//	nw := clustertest.NewNetwork()
//	ms := nw.StartMemberships(t, 3)          // n1, n2, n3, Fast profile
//	clustertest.WaitConverged(t, ms, 3, 5*time.Second)
//	nw.Partition([]string{"n1", "n2"}, []string{"n3"})
//
// Every membership started through it is shut down when the test ends.
// Nothing here is random: node names and member ids come from counters.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetflow/packetflow/cluster"
)

// StartTimeout bounds how long Start waits for a membership to start and join.
const StartTimeout = 10 * time.Second

// Prepare fills in the zero fields of cfg for a membership on the network:
// NodeName "nK" (K counting up from 1 on this network), a fresh ID
// ("<name>-<K>", unique on this network), Address "<name>.invalid:8090"
// (nothing listens there), FastProfile and a new Transport for the node
// name. The transport is open from then on: pass the result to
// cluster.StartMembership, which owns it.
func (n *Network) Prepare(cfg cluster.MembershipConfig) cluster.MembershipConfig {
	n.mu.Lock()
	if cfg.NodeName == "" {
		n.names++
		cfg.NodeName = fmt.Sprintf("n%d", n.names)
	}
	if cfg.ID == "" {
		n.ids++
		cfg.ID = fmt.Sprintf("%s-%d", cfg.NodeName, n.ids)
	}
	n.mu.Unlock()
	if cfg.Address == "" {
		cfg.Address = cfg.NodeName + ".invalid:8090"
	}
	if cfg.Profile == (cluster.Profile{}) {
		cfg.Profile = cluster.FastProfile()
	}
	if cfg.Transport == nil {
		cfg.Transport = n.Transport(cfg.NodeName)
	}
	return cfg
}

// Start starts a membership on the network from cfg (see Prepare for the
// zero fields; a nil Logger logs at info level to the test log) and shuts it
// down when the test ends. It fails the test if the membership does not
// start within StartTimeout.
func (n *Network) Start(t testing.TB, cfg cluster.MembershipConfig) *cluster.Membership {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = Logger(t, slog.LevelInfo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	m, err := cluster.StartMembership(ctx, n.Prepare(cfg))
	if err != nil {
		t.Fatalf("clustertest: starting membership: %v", err)
	}
	t.Cleanup(m.Shutdown)
	return m
}

// StartMemberships starts count memberships on the network, the first alone
// and each other one joining it, with the Fast profile. Each configure
// function may adjust the config of membership i (0-based) before it starts.
// They are shut down when the test ends.
func (n *Network) StartMemberships(t testing.TB, count int, configure ...func(i int, cfg *cluster.MembershipConfig)) []*cluster.Membership {
	t.Helper()
	ms := make([]*cluster.Membership, 0, count)
	for i := range count {
		var cfg cluster.MembershipConfig
		if i > 0 {
			cfg.Join = []string{ms[0].Local().Gossip}
		}
		for _, f := range configure {
			f(i, &cfg)
		}
		ms = append(ms, n.Start(t, cfg))
	}
	return ms
}

// Member is what WaitConverged needs: *cluster.Membership and *cluster.Node
// are both.
type Member interface {
	Members() []cluster.Member
	Local() cluster.Member
}

// WaitConverged waits until every membership (or node) of ms lists exactly want live
// members, the same ones, polling until timeout; then it fails the test with
// each membership's view.
func WaitConverged[M Member](t testing.TB, ms []M, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		views := make([]string, len(ms))
		converged := true
		for i, m := range ms {
			members := m.Members()
			views[i] = describe(members)
			if len(members) != want || views[i] != views[0] {
				converged = false
			}
		}
		if converged {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, m := range ms {
				fmt.Fprintf(&b, "\n  %s sees %s", m.Local().Name, views[i])
			}
			t.Fatalf("clustertest: memberships did not converge on %d members within %v:%s", want, timeout, b.String())
		}
		time.Sleep(pollInterval)
	}
}

const pollInterval = 10 * time.Millisecond

func describe(members []cluster.Member) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m.String()
	}
	return fmt.Sprintf("%d [%s]", len(members), strings.Join(parts, ", "))
}

// Kill stops m without leaving, as if its process died: its peers report it
// dead once they detect it.
func Kill(m *cluster.Membership) { m.Shutdown() }

// Recorder keeps every event a membership delivers to it.
type Recorder struct {
	// mu guards events and changed.
	mu      sync.Mutex
	events  []cluster.Event
	changed chan struct{} // closed and replaced on every event
}

// Record subscribes a Recorder to m (a *cluster.Membership or *cluster.Node)
// until the test ends. Like every
// subscriber it first receives an EventJoined for each current member.
func Record(t testing.TB, m interface {
	Subscribe(func(cluster.Event)) (cancel func())
}) *Recorder {
	r := &Recorder{changed: make(chan struct{})}
	t.Cleanup(m.Subscribe(func(ev cluster.Event) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}))
	return r
}

// Events returns the events recorded so far, oldest first.
func (r *Recorder) Events() []cluster.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// WaitFor waits until a recorded event (including earlier ones) matches and
// returns the first that does; after timeout it fails the test, listing the
// events it saw.
func (r *Recorder) WaitFor(t testing.TB, timeout time.Duration, what string, match func(cluster.Event) bool) cluster.Event {
	t.Helper()
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		changed := r.changed
		seen := slices.Clone(r.events)
		r.mu.Unlock()
		select {
		case <-changed:
		case <-expired.C:
			t.Fatalf("clustertest: no event %s within %v; events: %v", what, timeout, seen)
			return cluster.Event{}
		}
	}
}

// Is returns a matcher for events of kind about the member named name.
func Is(kind cluster.EventKind, name string) func(cluster.Event) bool {
	return func(ev cluster.Event) bool { return ev.Kind == kind && ev.Member.Name == name }
}

// Logger returns a logger that writes records at level and above to the
// test log, until the test's cleanups have run; later records (memberlist
// goroutines can outlive a shutdown by a moment) are dropped, since logging
// to a finished test panics.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	w := &testLog{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testLog struct {
	t testing.TB
	// mu guards done and orders writes with close.
	mu   sync.Mutex
	done bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLog) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
