package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/packetflow/packetflow/store"
)

// BenchmarkCommit measures Commit with 1 and 64 concurrent committers,
// each on its own key: ns/op is the time per commit of all committers
// together (the inverse of throughput), p50-µs and p99-µs the latency of
// one Commit. store=bolt fsyncs every transaction (in the test's temporary
// directory, so on whatever disk holds it) with the default options;
// bolt-delay1ms gathers each transaction for up to 1 ms
// (BoltOptions.MaxBatchDelay); bolt-nosync shows what the fsync costs;
// memory is the in-process baseline for the ratio.
func BenchmarkCommit(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
		{"bolt", func(b *testing.B) store.Store { return openBolt(b, statePath(b), store.BoltOptions{}) }},
		{"bolt-delay1ms", func(b *testing.B) store.Store {
			return openBolt(b, statePath(b), store.BoltOptions{MaxBatchDelay: time.Millisecond})
		}},
		{"bolt-nosync", func(b *testing.B) store.Store { return openBolt(b, statePath(b), store.BoltOptions{NoSync: true}) }},
	}
	for _, st := range stores {
		for _, committers := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/committers=%d", st.name, committers), func(b *testing.B) {
				benchmarkCommit(b, st.open(b), committers)
			})
		}
	}
}

func benchmarkCommit(b *testing.B, s store.Store, committers int) {
	data := make([]byte, 64) // a small reactor state
	latencies := make([][]time.Duration, committers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range committers {
		n := b.N / committers
		if c < b.N%committers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := store.Key{Kind: "counter", Identity: fmt.Sprint("c", c)}
			lat := make([]time.Duration, 0, n)
			for v := range uint64(n) {
				start := time.Now()
				if _, err := s.Commit(bg, key, v, store.Record{Type: "packetflow.test.v1.State", Schema: 1, Data: data}); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(start))
			}
			latencies[c] = lat
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	quantile := func(q float64) float64 {
		return float64(all[int(q*float64(len(all)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(quantile(0.50), "p50-µs")
	b.ReportMetric(quantile(0.99), "p99-µs")
	if bs, ok := s.(*store.Bolt); ok {
		if st := bs.Stats(); st.Transactions > 0 {
			b.ReportMetric(float64(st.Commits)/float64(st.Transactions), "commits/tx")
		}
	}
}
