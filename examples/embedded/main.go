// Command embedded shows a Go service embedding a PacketFlow node: with no
// peers it is a complete single-node cluster; given -join it joins others.
//
//	go run ./examples/embedded                      # a single-node cluster
//	go run ./examples/embedded -join 127.0.0.1:7946 # join a running node's gossip
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
)

func main() {
	join := flag.String("join", "", "gossip addresses of peers, host:port[,host:port…]")
	flag.Parse()
	var peers []string
	if *join != "" {
		peers = strings.Split(*join, ",")
	}
	if err := run(context.Background(), peers, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, peers []string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// A node that hosts the counter reactor. The zero NodeConfig binds free
	// loopback ports; set Name, Bind, Gossip, Advertise, TLS and GossipKey
	// for a real deployment.
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{
		Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) },
		Join:   peers,
	})
	if err != nil {
		return err
	}
	defer node.Stop() // leaves the cluster gracefully

	// The caller's capabilities come from your authentication, never from
	// the request itself.
	alice, err := node.Runtime().NewContext("alice", "user:basic")
	if err != nil {
		return err
	}
	// Routed to whichever member owns counter "c1", activated there.
	reply, err := node.Request(ctx, alice, &counterpb.Increment{Counter: "c1", By: 2})
	if err != nil {
		return err
	}
	owner, _ := node.Owner("counter", "c1")
	fmt.Fprintf(out, "c1 = %d (owned by %s, %d members)\n", reply.(*counterpb.Value).Count, owner.Name, len(node.Members()))

	// Denied in the mailbox: Reset needs user:admin.
	_, err = node.Request(ctx, alice, &counterpb.Reset{Counter: "c1"})
	fmt.Fprintf(out, "alice resets c1: %v\n", err)
	return nil
}
