// Package provider is a Proto.Actor cluster provider on PacketFlow's
// memberlist membership: Proto.Actor cluster members (grains, identity
// lookup, pub-sub) find each other by gossip instead of an external registry
// such as Consul or etcd. PacketFlow's own cluster.Node does not use it — it
// places reactors itself — so it lives in a package of its own, and code
// that does not use Proto.Actor's cluster does not link it.
package provider
