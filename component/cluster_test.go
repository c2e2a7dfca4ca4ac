package component_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/component/componenttest"
)

// componentCluster starts three nodes, each hosting defs(i) components.
func componentCluster(t *testing.T, defs func(i int) []component.Definition) ([]*cluster.Node, []*component.Host) {
	t.Helper()
	nw := clustertest.NewNetwork()
	hosts := make([]*component.Host, 3)
	nodes := nw.StartNodes(t, 3, func(i int, cfg *cluster.NodeConfig) {
		cfg.MemberKinds = []string{component.ServiceKind}
		cfg.Define = func(rt *actor.Runtime) error {
			h, err := component.NewHost(component.HostConfig{Runtime: rt, Logger: quiet(), HealthInterval: 20 * time.Millisecond})
			if err != nil {
				return err
			}
			hosts[i] = h
			if err := h.Add(defs(i)...); err != nil {
				return err
			}
			return h.Define()
		}
	})
	clustertest.WaitConverged(t, nodes, 3, 10*time.Second)
	for i, h := range hosts {
		h.SetRouter(nodes[i])
		require.NoError(t, h.Start(context.Background()))
		t.Cleanup(func() { _ = h.Stop(5 * time.Second) })
	}
	return nodes, hosts
}

func TestDiscoveryAndMessagingAcrossMembers(t *testing.T) {
	t.Parallel()
	echo := componenttest.NewScript(nil)
	echo.OnReceive = func(_ context.Context, msg proto.Message) (proto.Message, error) {
		return wrapperspb.String("echo " + msg.(*wrapperspb.StringValue).Value), nil
	}
	nodes, hosts := componentCluster(t, func(i int) []component.Definition {
		cache := echo.Definition("cache")
		cache.Type, cache.Version, cache.Tags = "cache", fmt.Sprintf("1.%d.0", i), []string{"edge"}
		cache.Capabilities = []string{"storage:kv"}
		cache.Weight = float64(1 + 8*min(i, 1)) // n1: 1, n2 and n3: 9
		worker := echo.Definition(fmt.Sprintf("worker%d", i))
		worker.Type, worker.Version = "worker", "2.0.0"
		return []component.Definition{cache, worker}
	})
	c := ctx(t)

	all, err := hosts[0].Find(c, component.Query{})
	require.NoError(t, err)
	require.Empty(t, all.Unreachable)
	require.Len(t, all.Entries, 6, "every member's components: %v", all.Entries)

	caches, err := hosts[1].Find(c, component.Query{Type: "cache", Version: ">= 1.1, < 2", Tags: []string{"edge"}, Capability: "storage:kv"})
	require.NoError(t, err)
	require.Len(t, caches.Entries, 2)
	require.Equal(t, []string{"n2", "n3"}, []string{caches.Entries[0].Member, caches.Entries[1].Member})
	_, err = hosts[0].Find(c, component.Query{Version: "not a constraint"})
	require.ErrorIs(t, err, component.ErrDefinition)
	_, err = hosts[0].Select(c, component.Query{Type: "nothing"}, component.Random)
	require.ErrorIs(t, err, component.ErrNotFound)

	// Round-robin goes around; weighted follows the weights (1:9:9).
	seen := map[string]int{}
	for range 6 {
		e, err := hosts[0].Select(c, component.Query{Type: "cache"}, component.RoundRobin)
		require.NoError(t, err)
		seen[e.Member]++
	}
	require.Equal(t, map[string]int{"n1": 2, "n2": 2, "n3": 2}, seen)
	clear(seen)
	for range 400 {
		e, err := hosts[0].Select(c, component.Query{Type: "cache"}, component.Weighted)
		require.NoError(t, err)
		seen[e.Member]++
	}
	require.InDelta(t, 400.0/19, seen["n1"], 15, "weight 1 of 19: %v", seen)
	require.InDelta(t, 400.0*9/19, seen["n2"], 45, "weight 9 of 19: %v", seen)

	// A request to a component on another member, through its service.
	reply, err := hosts[0].Request(c, component.Address{Member: "n3", Component: "worker2"}, wrapperspb.String("hi"))
	require.NoError(t, err)
	require.Equal(t, "echo hi", reply.(*wrapperspb.StringValue).Value)
	_, err = hosts[0].Request(c, component.Address{Member: "n3", Component: "ghost"}, wrapperspb.String("hi"))
	require.ErrorContains(t, err, `no component "ghost" on n3`)

	// A broadcast to every cache; the one on n2 is stopped and says so.
	require.NoError(t, hosts[1].StopComponent(c, "cache"))
	rep, err := hosts[0].Broadcast(c, component.Query{Type: "cache"}, wrapperspb.String("flush"))
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.ElementsMatch(t, []component.Address{{Member: "n1", Component: "cache"}, {Member: "n3", Component: "cache"}}, rep.Delivered)
	require.Len(t, rep.Failed, 1)
	require.ErrorContains(t, rep.Failed[component.Address{Member: "n2", Component: "cache"}], "not running")

	// A killed member's components drop out once it is declared dead.
	nodes[2].Kill()
	require.Eventually(t, func() bool {
		found, err := hosts[0].Find(c, component.Query{})
		return err == nil && len(found.Entries) == 4
	}, 15*time.Second, 20*time.Millisecond, "n3's components disappear")
}
