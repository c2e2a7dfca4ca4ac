// Command web is the seed's admin panel as a small full-stack app on
// PacketFlow: it embeds a node hosting the quick start's counters and
// serves, on the node's own router, the node's dashboard (/) and a counters
// page (/counters) whose pieces appear by capability — everyone signed in
// sees the counts, user:basic may increment, user:admin sees the Admin
// Panel and the reset buttons. Every button sends an intent as the signed-in
// principal, so the reactor's mailbox checks the same capabilities again.
//
//	go run ./examples/web                 # serves http://127.0.0.1:8088; sign in with token alice or admin
//	go run ./examples/web -http :0 -once  # starts, checks the pages as alice and admin, stops
//
// The tokens are the demo's, printed at start: never use them on a node
// that others can reach.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

// demoPrincipals are the panel's users. Their tokens are public.
func demoPrincipals() (*web.Principals, error) {
	return web.NewPrincipals(
		web.Principal{Name: "alice", Token: "alice", Capabilities: []string{"user:basic"}},
		web.Principal{Name: "admin", Token: "admin", Capabilities: []string{"user:admin", "chaos:inject"}},
	)
}

// run serves the panel until ctx ends or, with -once, checks it and
// returns.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("http", "127.0.0.1:8088", "HTTP address `host:port` of the panel and the node's dashboard")
	join := fs.String("join", "", "gossip addresses of peers to join, `host:port[,host:port…]`")
	once := fs.Bool("once", false, "start, sign in as alice and as admin, check the pages, and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Supervision decisions and injected faults show on the dashboard.
	events := web.NewEventLog(0)
	sup, err := supervision.NewInstances(supervision.Strategy{
		Intensity: supervision.Intensity{MaxRestarts: 10, Within: 10 * time.Second},
	}, supervision.Options{}, events.Supervision)
	if err != nil {
		return err
	}
	faults := fault.New(uint64(time.Now().UnixNano()))
	cfg := cluster.NodeConfig{
		Name:   "panel",
		Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) },
		Logger: logger,
	}
	cfg.Runtime.Supervisor = sup
	cfg.Runtime.Intercept = faults.Intercept
	if *join != "" {
		cfg.Join = strings.Split(*join, ",")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-http %s: %w", *addr, err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	node, err := cluster.StartNode(startCtx, cfg)
	cancel()
	if err != nil {
		ln.Close()
		return err
	}
	defer node.Stop()
	faults.StopWith(node.Runtime().Deactivate)

	principals, err := demoPrincipals()
	if err != nil {
		ln.Close()
		return err
	}
	h, err := web.NewHandler(node, web.Config{Principals: principals, Logger: logger, Supervision: sup, Events: events, Faults: faults})
	if err != nil {
		ln.Close()
		return err
	}
	defer h.Close()
	if _, err := newPanel(node, h, "c1", "c2", "c3"); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(h.Close)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "admin panel on %s/counters, dashboard on %s/ (node %s)\n", base, base, node.Local().Name)
	fmt.Fprintln(out, "sign in with API token alice (user:basic) or admin (user:admin, chaos:inject); demo tokens, local use only")

	var runErr error
	if *once {
		runErr = smoke(ctx, base, out)
	} else {
		select {
		case <-ctx.Done():
		case runErr = <-served:
		}
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) && runErr == nil {
		runErr = err
	}
	return runErr
}
