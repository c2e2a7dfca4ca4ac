package stream

import (
	"context"
	"testing"
)

// BenchmarkRemotePipeline is BenchmarkPipeline's work split across two
// actor systems on loopback: the source on one, map → filter → sink on the
// other, the elements and the demand crossing Proto.Actor remote as
// streampb messages. It starts two remotes in one process, so it does not
// run under -race (see remote_test.go). Proto.Actor's remote shutdown
// leaves gRPC reconnection goroutines of a connection to a peer that
// shut down first; TestMain's leak check ignores those (no test starts a
// remote in the test process itself).
func BenchmarkRemotePipeline(b *testing.B) {
	if raceEnabled {
		b.Skip("two Proto.Actor remotes in one process race under -race")
	}
	a, z := startRemoteSystem(b), startRemoteSystem(b)
	ctx := context.Background()
	sum := 0
	src, inlet := FromRemote(int64Codec)
	sub, err := Via(Via(src, Map(func(x int64) int { return benchMap(int(x)) })), Filter(benchKeep)).To(ForEach(benchSink(&sum))).Run(ctx, z)
	if err != nil {
		b.Fatal(err)
	}
	var i int64
	gen := Generate(func() (int64, bool) { i++; return i, i <= int64(b.N) })
	b.ResetTimer()
	pub, err := gen.To(ToRemote(inlet.PID(), int64Codec)).Run(ctx, a)
	if err != nil {
		b.Fatal(err)
	}
	if err := sub.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	if err := pub.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elems/s")
}
