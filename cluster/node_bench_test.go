package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
)

// The cluster benchmarks run on real sockets on loopback: memberlist over
// UDP and TCP, and (for failover) Proto.Actor remote between nodes. Like the
// remote benchmarks they start several remotes in one process, so they run
// without -race.

var profiles = []struct {
	name    string
	profile func() cluster.Profile
}{{"lan", cluster.LANProfile}, {"fast", cluster.FastProfile}}

// BenchmarkConvergence measures how long it takes, after the last of n
// memberships has joined the first, until every one lists all n members.
// Reported as converge-ms; the ns/op also includes starting them.
func BenchmarkConvergence(b *testing.B) {
	for _, p := range profiles {
		for _, n := range []int{3, 5, 10} {
			b.Run(fmt.Sprintf("profile=%s/nodes=%d", p.name, n), func(b *testing.B) {
				var total time.Duration
				for i := 0; i < b.N; i++ {
					ms := make([]*cluster.Membership, 0, n)
					for j := range n {
						cfg := cluster.MembershipConfig{
							NodeName: fmt.Sprintf("m%d", j), ID: fmt.Sprintf("m%d-%d", j, i),
							Address: "127.0.0.1:1", Kinds: []string{"counter"},
							Profile: p.profile(), Logger: benchLog,
						}
						if j > 0 {
							cfg.Join = []string{ms[0].Local().Gossip}
						}
						m, err := cluster.StartMembership(context.Background(), cfg)
						if err != nil {
							b.Fatal(err)
						}
						ms = append(ms, m)
					}
					start := time.Now()
					for !converged(ms, n) {
						if time.Since(start) > time.Minute {
							b.Fatalf("%d members did not converge within a minute", n)
						}
						time.Sleep(time.Millisecond)
					}
					total += time.Since(start)
					b.StopTimer()
					for _, m := range ms {
						m.Shutdown()
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "converge-ms")
			})
		}
	}
}

func converged[M interface{ Members() []cluster.Member }](ms []M, n int) bool {
	for _, m := range ms {
		if len(m.Members()) != n {
			return false
		}
	}
	return true
}

// BenchmarkFailover measures, in a three-node cluster, the time from killing
// the member that owns a counter to the first successful reply for that
// counter from its new owner, through a surviving node that keeps asking
// (one Get, which the node retries across the topology change). Reported as
// failover-ms.
func BenchmarkFailover(b *testing.B) {
	for _, p := range profiles {
		b.Run("profile="+p.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				nodes := make([]*cluster.Node, 0, 3)
				for j := range 3 {
					cfg := cluster.NodeConfig{
						Name:    fmt.Sprintf("n%d", j),
						Define:  func(rt *actor.Runtime) error { return counter.Define(rt, nil) },
						Profile: p.profile(),
						Logger:  benchLog,
					}
					if j > 0 {
						cfg.Join = []string{nodes[0].Local().Gossip}
					}
					node, err := cluster.StartNode(context.Background(), cfg)
					if err != nil {
						b.Fatal(err)
					}
					nodes = append(nodes, node)
				}
				for !converged(nodes, 3) {
					time.Sleep(time.Millisecond)
				}
				// A counter the victim owns, activated there.
				victim := nodes[2]
				var id string
				for k := 0; id == ""; k++ {
					owner, err := nodes[0].Owner("counter", fmt.Sprintf("c%d", k))
					if err != nil {
						b.Fatal(err)
					}
					if owner.ID == victim.Local().ID {
						id = fmt.Sprintf("c%d", k)
					}
				}
				caller, err := nodes[0].Runtime().NewContext("bench", "user:basic")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := nodes[0].Request(context.Background(), caller, &counterpb.Increment{Counter: id}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				victim.Kill()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err = nodes[0].Request(ctx, caller, &counterpb.Get{Counter: id})
				cancel()
				if err != nil {
					b.Fatalf("no reply within a minute of the kill: %v", err)
				}
				total += time.Since(start)
				b.StopTimer()
				for _, n := range nodes[:2] {
					_ = n.Stop()
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "failover-ms")
		})
	}
}
