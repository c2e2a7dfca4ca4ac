// Command component is a small service built from two dependent
// components on an embedded node: a visit counter ("visits") and a
// greeter that depends on it. It updates the greeter's configuration, rolls
// it back, stops the counter (the greeter, which depends on it, stops
// first) and starts the greeter again (the counter starts first).
//
//	go run ./examples/component
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/examples/component/greeting"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "component example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	var host *component.Host
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{
		Name:        "example",
		MemberKinds: []string{component.ServiceKind},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Define: func(rt *actor.Runtime) error {
			var err error
			if host, err = component.NewHost(component.HostConfig{Runtime: rt}); err != nil {
				return err
			}
			if err := host.Add(greeting.Definitions()...); err != nil {
				return err
			}
			return host.Define()
		},
	})
	if err != nil {
		return err
	}
	defer node.Stop()
	host.SetRouter(node)
	if err := host.Start(ctx); err != nil {
		return err
	}
	defer host.Stop(5 * time.Second)
	host.Subscribe(func(e component.Event) {
		if e.Kind == component.EventStarted || e.Kind == component.EventStopped || e.Kind == component.EventReconfigured {
			fmt.Fprintf(out, "  event: %s\n", e)
		}
	})

	greeter := component.Address{Component: "greeter"}
	greet := func(name string) error {
		reply, err := host.Request(ctx, greeter, wrapperspb.String(name))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", reply.(*wrapperspb.StringValue).GetValue())
		return nil
	}
	found, err := host.Find(ctx, component.Query{})
	if err != nil {
		return err
	}
	for _, e := range found.Entries {
		fmt.Fprintf(out, "component %s (%s %s) on %s: %s\n", e.ID, e.Type, e.Version, e.Member, e.State)
	}
	if err := greet("Ada"); err != nil {
		return err
	}

	cfg, err := host.Config("greeter")
	if err != nil {
		return err
	}
	first := cfg.Current().Version()
	fmt.Fprintln(out, "update: greeting=Bonjour punctuation=.")
	if _, err := cfg.Update(ctx, map[string]any{"greeting": "Bonjour", "punctuation": "."}); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return strings.HasPrefix(reply(ctx, host, greeter), "Bonjour, probe.") }); err != nil {
		return err
	}
	if err := greet("Ada"); err != nil {
		return err
	}
	_, err = cfg.Update(ctx, map[string]any{"punctuation": "?!"})
	fmt.Fprintf(out, "update: punctuation=?! refused: %v\n", err)
	fmt.Fprintf(out, "rollback to version %d\n", first)
	if _, err := cfg.Rollback(ctx, first); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return strings.HasPrefix(reply(ctx, host, greeter), "Hello, probe!") }); err != nil {
		return err
	}
	if err := greet("Ada"); err != nil {
		return err
	}
	for _, v := range cfg.History() {
		fmt.Fprintf(out, "  config version %d (%s): %v\n", v.Version(), v.Cause(), v.Values())
	}

	fmt.Fprintln(out, "stop visits (greeter, which depends on it, stops first)")
	if err := host.StopComponent(ctx, "visits"); err != nil {
		return err
	}
	_, err = host.Request(ctx, greeter, wrapperspb.String("Ada"))
	fmt.Fprintf(out, "greet while stopped: %v\n", err)
	fmt.Fprintln(out, "start greeter (visits, which it depends on, starts first)")
	if err := host.StartComponent(ctx, "greeter"); err != nil {
		return err
	}
	return greet("Ada")
}

// reply is the greeter's answer to "probe", or "" on an error.
func reply(ctx context.Context, host *component.Host, to component.Address) string {
	r, err := host.Request(ctx, to, wrapperspb.String("probe"))
	if err != nil {
		return ""
	}
	return r.(*wrapperspb.StringValue).GetValue()
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
