package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/packetflow/packetflow/cluster"
)

// PrepareNode fills in the zero fields of cfg for a node on the network:
// Name "nK" (counting up with Prepare's names), FastProfile, and the
// network's gossip and intent transports for the name. The gossip
// transport is open from then on: pass the result to cluster.NewNode or
// cluster.StartNode, which own it.
func (n *Network) PrepareNode(cfg cluster.NodeConfig) cluster.NodeConfig {
	if cfg.Name == "" {
		n.mu.Lock()
		n.names++
		cfg.Name = fmt.Sprintf("n%d", n.names)
		n.mu.Unlock()
	}
	if cfg.Profile == (cluster.Profile{}) {
		cfg.Profile = cluster.FastProfile()
	}
	if cfg.GossipTransport == nil {
		cfg.GossipTransport = n.Transport(cfg.Name)
	}
	if cfg.Transport == nil {
		cfg.Transport = n.IntentTransport(cfg.Name)
	}
	return cfg
}

// StartNode starts a node on the network from cfg (see PrepareNode for the
// zero fields; a nil Logger logs at info level to the test log), joining
// cfg.Join, and stops it when the test ends. It fails the test if the node
// does not start within StartTimeout.
func (n *Network) StartNode(t testing.TB, cfg cluster.NodeConfig) *cluster.Node {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = Logger(t, slog.LevelInfo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	node, err := cluster.StartNode(ctx, n.PrepareNode(cfg))
	if err != nil {
		t.Fatalf("clustertest: starting node: %v", err)
	}
	t.Cleanup(func() {
		if err := node.Stop(); err != nil {
			t.Errorf("clustertest: stopping node %s: %v", node.Local().Name, err)
		}
	})
	return node
}

// StartNodes starts count nodes on the network, the first alone and each
// other one joining it, with the Fast profile. Each configure function may
// adjust the config of node i (0-based) before it starts; define, when not
// nil, becomes every node's NodeConfig.Define first. They are stopped when
// the test ends.
func (n *Network) StartNodes(t testing.TB, count int, configure ...func(i int, cfg *cluster.NodeConfig)) []*cluster.Node {
	t.Helper()
	nodes := make([]*cluster.Node, 0, count)
	for i := range count {
		var cfg cluster.NodeConfig
		if i > 0 {
			cfg.Join = []string{nodes[0].Local().Gossip}
		}
		for _, f := range configure {
			f(i, &cfg)
		}
		nodes = append(nodes, n.StartNode(t, cfg))
	}
	return nodes
}
