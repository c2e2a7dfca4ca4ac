package actor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
)

// BenchmarkDurableRequest measures counter Increments whose state is
// committed before the reply — to a bbolt file with fsync, to the
// replicated store of three members on loopback (r3: each write on all
// three, fsynced before it is acknowledged, the node's default), and to
// the in-memory store — against the same counter with its state in memory
// only, in the same run; with 1 sender and with 64 concurrent senders on
// distinct counters. It reports p50 and p99 request latency. Each store is
// opened once and reused by the runs of its sub-benchmarks.
func BenchmarkDurableRequest(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"none", func(*testing.B) store.Store { return nil }},
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
		{"bolt", func(b *testing.B) store.Store {
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), store.BoltOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"r3", func(b *testing.B) store.Store {
			return replicatedtest.Cluster(b, 3, func(_ int, c *replicated.Config) { c.SyncAlways = true })[0]
		}},
	}
	for _, s := range stores {
		st := s.open(b)
		for _, senders := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/senders=%d", s.name, senders), func(b *testing.B) {
				cfg := actor.Config{Logger: discard}
				if st != nil {
					cfg.Store = st
				}
				rt, err := actor.NewRuntime(cfg)
				must(b, err)
				b.Cleanup(func() { _ = rt.Stop() })
				must(b, counter.Define(rt, nil))
				caller, err := rt.NewContext("bench", "user:basic")
				must(b, err)
				ctx := context.Background()
				lat := make([][]time.Duration, senders)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for i := range senders {
					wg.Go(func() {
						msg := &counterpb.Increment{Counter: fmt.Sprintf("c%d", i), By: 1}
						for next.Add(1) <= int64(b.N) {
							start := time.Now()
							if _, err := rt.Request(ctx, caller, msg); err != nil {
								b.Error(err)
								return
							}
							lat[i] = append(lat[i], time.Since(start))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				all := slices.Concat(lat...)
				slices.Sort(all)
				if len(all) > 0 {
					b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1000, "p50-µs")
					b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1000, "p99-µs")
				}
			})
		}
	}
}

// BenchmarkRecovery measures the activation of a durable counter: a fresh
// runtime on an existing store answers a Get for a counter whose state was
// committed 10,000 times (history=10000), against one never committed
// (history=0) on the same store, and the same runtime without a store, in
// the same run. A store keeps each instance's last committed state (every
// commit is a snapshot, there is no event log to replay), so recovery is
// one Load and a decode whatever the history. ns/op is the time of that
// first intent (activation, recovery, the Get); creating and stopping the
// runtime are not timed.
func BenchmarkRecovery(b *testing.B) {
	const history = 10000
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"none", func(*testing.B) store.Store { return nil }},
		{"bolt", func(b *testing.B) store.Store {
			path := filepath.Join(b.TempDir(), "bench.db")
			// The history is written without fsync, then the file is
			// reopened as a node opens it.
			st, err := store.OpenBolt(path, store.BoltOptions{NoSync: true})
			must(b, err)
			commitHistory(b, st, history)
			must(b, st.Close())
			st, err = store.OpenBolt(path, store.BoltOptions{})
			must(b, err)
			b.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"r3", func(b *testing.B) store.Store {
			st := replicatedtest.Cluster(b, 3, nil)[0]
			commitHistory(b, st, history)
			return st
		}},
	}
	for _, s := range stores {
		st := s.open(b)
		for _, h := range []int{0, history} {
			if st == nil && h > 0 {
				continue
			}
			b.Run(fmt.Sprintf("store=%s/history=%d", s.name, h), func(b *testing.B) {
				id := "fresh"
				if h > 0 {
					id = "recovered"
				}
				for range b.N {
					b.StopTimer()
					cfg := actor.Config{Logger: discard}
					if st != nil {
						cfg.Store = st
					}
					rt, err := actor.NewRuntime(cfg)
					must(b, err)
					must(b, counter.Define(rt, nil))
					caller, err := rt.NewContext("bench", "user:basic")
					must(b, err)
					b.StartTimer()
					reply, err := rt.Request(context.Background(), caller, &counterpb.Get{Counter: id})
					b.StopTimer()
					must(b, err)
					if got := reply.(*counterpb.Value).Count; got != int64(h) {
						b.Fatalf("recovered count %d, want %d", got, h)
					}
					must(b, rt.Stop())
					b.StartTimer()
				}
			})
		}
	}
}

// commitHistory commits n successive states of counter "recovered".
func commitHistory(b *testing.B, st store.Store, n int) {
	key := store.Key{Kind: "counter", Identity: "recovered"}
	for v := range uint64(n) {
		data, err := proto.Marshal(&counterpb.State{Count: int64(v + 1)})
		must(b, err)
		_, err = st.Commit(context.Background(), key, v,
			store.Record{Type: "packetflow.examples.counter.v1.State", Schema: 1, Data: data})
		must(b, err)
	}
}
