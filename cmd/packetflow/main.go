// Command packetflow is PacketFlow's one binary.
//
//	packetflow node          run a cluster member with the HTTP API
//	packetflow send          send an intent through a node's HTTP API
//	packetflow members       list a node's view of the cluster
//	packetflow healthcheck   exit 0 when a node is a healthy member
//	packetflow load          increment counters under load, recording each outcome
//	packetflow verify        check counters against a load history (lost or phantom increments)
//	packetflow demo          run the seed's quick start (the counter) in-process
//
// Each command's -help lists its flags; README.md shows them in use.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/packetflow/packetflow/examples/counter"
)

const usage = `usage: packetflow <command> [flags]

commands:
  node         run a cluster member hosting the example reactors, with the HTTP API
  send         send an intent through a node's HTTP API and print the reply
  members      print a node's view of the cluster members
  healthcheck  exit 0 when a node is a healthy cluster member (for container healthchecks)
  load         increment counters through nodes, recording each outcome (ok, failed, unknown) in a history file
  verify       check every counter of a load history: ok <= value <= ok + unknown
  chaos        run the in-process chaos suite (three members, seeded faults, invariants); exit 0 when all hold;
               chaos inject|status: set or read the fault rules of a node started with --chaos
  demo         run the quick start (a capability-checked counter) in-process and exit
  help         show this help

"packetflow <command> -help" lists a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 on success,
// 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		fs.SetOutput(stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "packetflow demo: unexpected argument %q\n", fs.Arg(0))
			return 2
		}
		if err := counter.Demo(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "packetflow demo: %v\n", err)
			return 1
		}
		return 0
	case "node":
		return runNode(ctx, args[1:], stderr)
	case "send":
		return runSend(ctx, args[1:], stdout, stderr)
	case "members":
		return runMembers(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	case "load":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "chaos":
		return runChaos(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "packetflow: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
