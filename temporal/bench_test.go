package temporal_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/temporal"
)

// BenchmarkReactorTimers100k arms 100,000 one-shot reactor timers (1,000
// activations × 100, an hour away, on the real clock) on one node and
// reports how many are active and the heap they cost per timer, including
// the clock's timer and the timer table, not the activations themselves.
//
//	go test -run x -bench ReactorTimers100k -benchtime 1x ./temporal/
func BenchmarkReactorTimers100k(b *testing.B) {
	const activations, perActivation = 1000, 100
	for b.Loop() {
		tr := newTimedReactorOn(b, temporal.RealClock{}, nil)
		for i := range activations { // activate first: their cost is not the timers'
			require.NoError(b, tr.do(b, "a"+strconv.Itoa(i), "noop"))
		}
		before := heapInUse()
		start := time.Now()
		for i := range activations {
			require.NoError(b, tr.do(b, "a"+strconv.Itoa(i), "many "+strconv.Itoa(perActivation)+" 1h"))
		}
		armedIn := time.Since(start)
		after := heapInUse()
		n := tr.timers.Armed()
		require.Equal(b, activations*perActivation, n)
		b.ReportMetric(float64(n), "timers")
		b.ReportMetric(float64(after-before)/float64(n), "B/timer")
		b.ReportMetric(float64(armedIn.Nanoseconds())/float64(n), "ns/arm")
		require.NoError(b, tr.rt.Stop())
		require.Zero(b, tr.timers.Armed())
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkReactorTimerLateness10k arms 10,000 one-shot timers due over two
// seconds (100 activations × 100) on the real clock while 4 goroutines keep
// sending intents to other activations of the same node, and reports how
// late the ticks were handled: from the due instant to the handler.
//
//	go test -run x -bench ReactorTimerLateness10k -benchtime 1x ./temporal/
func BenchmarkReactorTimerLateness10k(b *testing.B) {
	const activations, perActivation, spread = 100, 100, 2 * time.Second
	for b.Loop() {
		tr := newTimedReactorOn(b, temporal.RealClock{}, nil)
		var mu sync.Mutex
		late := make([]time.Duration, 0, activations*perActivation)
		done := make(chan struct{})
		var armedAt sync.Map // "activation/timer" -> due
		tr.onTick = func(c *actor.Call, name string) {
			due, _ := armedAt.Load(c.Identity() + "/" + name)
			mu.Lock()
			late = append(late, c.Now().Sub(due.(time.Time)))
			if len(late) == activations*perActivation {
				close(done)
			}
			mu.Unlock()
		}
		// Load: 4 closed-loop senders (each waits for its reply) to 64
		// other activations.
		ctx, stopLoad := context.WithCancel(context.Background())
		var sent atomic.Int64
		var load sync.WaitGroup
		for g := range 4 {
			load.Add(1)
			go func() {
				defer load.Done()
				for i := 0; ctx.Err() == nil; i++ {
					_, _ = tr.rt.Request(ctx, tr.caller, &counterpb.Increment{Counter: "load" + strconv.Itoa((g*16+i)%64), UserId: "noop"})
					sent.Add(1)
				}
			}()
		}
		start := time.Now()
		for i := range activations {
			id := "a" + strconv.Itoa(i)
			for j := range perActivation {
				name := "t" + strconv.Itoa(j)
				d := time.Duration(int64(spread) * int64(i*perActivation+j) / (activations * perActivation))
				d += time.Second // past the arming
				armedAt.Store(id+"/"+name, start.Add(d))
				require.NoError(b, tr.do(b, id, "after "+name+" "+time.Until(start.Add(d)).String()))
			}
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Fatal("ticks missing after 30s")
		}
		elapsed := time.Since(start)
		stopLoad()
		load.Wait()
		slices.Sort(late)
		b.ReportMetric(ms(late[len(late)/2]), "p50-ms")
		b.ReportMetric(ms(late[len(late)*99/100]), "p99-ms")
		b.ReportMetric(ms(late[len(late)-1]), "max-ms")
		b.ReportMetric(float64(sent.Load())/elapsed.Seconds(), "load-intents/s")
		require.NoError(b, tr.rt.Stop())
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
