package stream

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// The throughput benchmarks push b.N integers through map (x*2+1) →
// filter (drop multiples of 3) → a summing sink: as a PacketFlow pipeline
// (a source actor and three stage actors, batching on and off), and as a
// hand-written pipeline of three goroutines joined by channels buffered
// like the pipeline's batch (256), doing the same work in the same run.
// They report elements per second; scripts/bench.sh prints the ratio.

func benchMap(x int) int   { return x*2 + 1 }
func benchKeep(x int) bool { return x%3 != 0 }
func benchSink(sum *int) func(int) {
	return func(x int) { *sum += x }
}

func BenchmarkPipeline(b *testing.B) {
	for _, batch := range []int{DefaultBatch, 1} {
		b.Run(fmt.Sprintf("impl=stream/batch=%d", batch), func(b *testing.B) {
			sys := newSystem(b)
			ctx := context.Background()
			i := 0
			sum := 0
			src := Generate(func() (int, bool) { i++; return i, i <= b.N })
			g := Via(src, Map(benchMap)).Via(Filter(benchKeep)).To(ForEach(benchSink(&sum)))
			b.ResetTimer()
			p, err := g.RunWith(ctx, sys, Config{Batch: batch})
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elems/s")
		})
	}
	b.Run("impl=channels", func(b *testing.B) {
		mapped := make(chan int, DefaultBatch)
		kept := make(chan int, DefaultBatch)
		done := make(chan int)
		b.ResetTimer()
		go func() {
			for i := 1; i <= b.N; i++ {
				mapped <- benchMap(i)
			}
			close(mapped)
		}()
		go func() {
			for x := range mapped {
				if benchKeep(x) {
					kept <- x
				}
			}
			close(kept)
		}()
		go func() {
			sum := 0
			for x := range kept {
				benchSink(&sum)(x)
			}
			done <- sum
		}()
		<-done
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elems/s")
	})
}

// spin does n units of work that the compiler cannot drop.
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// payload is an element of 1 KiB, so that what a stage holds shows in the
// heap.
type payload [1024]byte

// BenchmarkSlowSinkMemory runs a source of 1 KiB elements into a buffer
// of 1024 and a sink doing 100 times the source's work per element, for
// each overflow strategy, and reports the heap held while it runs (after
// a GC, minus the heap before) and the fraction of elements dropped. b.N
// is the number of elements the sink consumes.
func BenchmarkSlowSinkMemory(b *testing.B) {
	const sourceWork, sinkWork, size = 20, 2000, 1024
	for _, o := range []Overflow{OverflowBackpressure, OverflowDropOldest, OverflowDropNewest, OverflowDropBuffer} {
		b.Run("overflow="+o.String(), func(b *testing.B) {
			sys := newSystem(b)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var sink uint64
			// The source stops on pause (once b.N elements were consumed), so
			// that the heap measured holds what the pipeline keeps, not the
			// garbage a running source makes between the GC and the reading.
			pause, paused, resume := make(chan struct{}), make(chan struct{}), make(chan struct{})
			src := Generate(func() (*payload, bool) {
				select {
				case <-pause:
					close(paused)
					<-resume
				default:
				}
				p := &payload{}
				p[0] = byte(spin(sourceWork))
				return p, true
			})
			consumed := 0
			reached := make(chan struct{})
			g := Via(src, Buffer[*payload](size, o)).To(ForEach(func(p *payload) {
				sink += spin(sinkWork) + uint64(p[0])
				if consumed++; consumed == b.N {
					close(reached)
				}
			}))
			b.ResetTimer()
			p, err := g.RunWith(context.Background(), sys, Config{})
			if err != nil {
				b.Fatal(err)
			}
			select {
			case <-reached:
			case <-p.Done():
				b.Fatal(p.Err())
			case <-time.After(time.Minute):
				b.Fatal("the sink did not consume b.N elements within a minute")
			}
			b.StopTimer()
			close(pause)
			<-paused
			runtime.GC()
			runtime.ReadMemStats(&after)
			close(resume)
			st := p.Stats()
			p.Cancel()
			<-p.Done()
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			b.ReportMetric(float64(max(held, 0)), "B-held")
			b.ReportMetric(float64(st[1].MaxBuffered), "max-buffered")
			if st[1].In > 0 {
				b.ReportMetric(float64(st[1].Dropped)/float64(st[1].In), "dropped-frac")
			}
		})
	}
}
