package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/examples/component/greeting"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/filesystem"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

// nodeFlags are the flags of `packetflow node`.
type nodeFlags struct {
	name, cluster          string
	bind, advertise        string
	gossip, join, http     string
	grants                 string
	dev                    bool
	tlsCert, tlsKey, tlsCA string
	gossipKey              string
	profile, logLevel      string
	dataDir                string
	storeKind, storeListen string
	storeAdvertise         string
	storePeers             string
	storeReplicas          int
	storeSync              string
	chaos                  bool
	faults                 *fault.Injector // with --chaos
	events                 *web.EventLog   // supervision events, for the dashboard
}

func parseNodeFlags(args []string, stderr io.Writer) (*nodeFlags, error) {
	f := &nodeFlags{}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: packetflow node [flags]\n\nRuns a cluster member that hosts the example reactors (counter, volume) and serves the HTTP API.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.name, "name", "", "node name, unique in the cluster (default: the host name)")
	fs.StringVar(&f.cluster, "cluster", "packetflow", "cluster name; members of other clusters are refused")
	fs.StringVar(&f.bind, "bind", "127.0.0.1:8090", "actor remote address `host:port`")
	fs.StringVar(&f.advertise, "advertise", "", "`host` other members use to reach this node, when it differs from the bound ones (NAT, containers)")
	fs.StringVar(&f.gossip, "gossip", "127.0.0.1:7946", "memberlist gossip address `host:port`")
	fs.StringVar(&f.join, "join", "", "gossip addresses of peers to join, `host:port[,host:port…]`, retried until one answers")
	fs.StringVar(&f.http, "http", "127.0.0.1:8080", "HTTP API address `host:port`")
	fs.StringVar(&f.grants, "grants", "", "JSON `file` of principals, their API tokens and capabilities; without it (and --dev) no token is valid")
	fs.BoolVar(&f.dev, "dev", false, "add the demo principals alice (token alice, user:basic) and admin (token admin, user:admin)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM `file` of this node's certificate (mutual TLS between nodes; with --tls-key and --tls-ca)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM `file` of this node's private key")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM `file` of the cluster's CA certificates")
	fs.StringVar(&f.gossipKey, "gossip-key", "", "base64 memberlist encryption `key` (16, 24 or 32 bytes), the same on every member")
	fs.StringVar(&f.profile, "profile", "lan", "failure detection timing: `lan` (memberlist's LAN defaults) or fast (dead in about 1 s)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.dataDir, "data-dir", "", "`directory` of the durable reactor state: a restarted node finds every counter as it left it; without it state lives in memory")
	fs.StringVar(&f.storeKind, "store", "", "where reactor state is kept: `kind` memory, file (a bbolt file, packetflow.db, in --data-dir; this member's alone) or replicated (NATS JetStream embedded in each member, in --data-dir/jetstream, replicated to --store-replicas members: survives the loss of a member); default file with --data-dir, else memory")
	fs.StringVar(&f.storeListen, "store-listen", "127.0.0.1:6222", "--store replicated: route address `host:port` the other members' stores connect to")
	fs.StringVar(&f.storeAdvertise, "store-advertise", "", "--store replicated: route address `host:port` other members use, when it differs from --store-listen")
	fs.StringVar(&f.storePeers, "store-peers", "", "--store replicated: route addresses of the members' stores, `host:port[,host:port…]` (this member's own may be listed, so every member can be given the same list)")
	fs.IntVar(&f.storeReplicas, "store-replicas", 0, "--store replicated: `members` keeping each record, 1 to 5 (default 3, or fewer with fewer members); a write is acknowledged once a majority has it")
	fs.StringVar(&f.storeSync, "store-sync", "always", "--store replicated: `always` fsyncs each write on every replica before it is acknowledged; batched fsyncs every two minutes (an acknowledged write then survives the loss of any minority of members, not a power loss of a majority)")
	fs.BoolVar(&f.chaos, "chaos", false, "enable fault injection, controlled through GET/PUT /v1/chaos by principals holding chaos:inject (`packetflow chaos inject`); never in production")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// usageError is an invalid invocation: exit status 2.
type usageError struct{ error }

// config turns the flags into a node configuration and the HTTP handler's
// principals, or says what is wrong with them.
func (f *nodeFlags) config(logger *slog.Logger) (cluster.NodeConfig, *web.Principals, error) {
	var cfg cluster.NodeConfig
	bad := func(format string, args ...any) (cluster.NodeConfig, *web.Principals, error) {
		return cfg, nil, usageError{fmt.Errorf(format, args...)}
	}
	for flagName, v := range map[string]string{"--bind": f.bind, "--gossip": f.gossip, "--http": f.http} {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return bad("%s %q is not host:port: %v", flagName, v, err)
		}
	}
	cfg = cluster.NodeConfig{
		Name:        f.name,
		ClusterName: f.cluster,
		Bind:        f.bind,
		Gossip:      f.gossip,
		Logger:      logger,
		Define: func(rt *actor.Runtime) error {
			return errors.Join(counter.Define(rt, nil), filesystem.Define(rt))
		},
	}
	if f.advertise != "" {
		host := f.advertise
		if h, _, err := net.SplitHostPort(f.advertise); err == nil {
			host = h
		}
		if net.ParseIP(host) == nil {
			return bad("--advertise %q is not an IP address", f.advertise)
		}
		cfg.Advertise = net.JoinHostPort(host, "0")
		cfg.GossipAdvertise = net.JoinHostPort(host, "0")
	}
	if f.join != "" {
		for _, peer := range strings.Split(f.join, ",") {
			peer = strings.TrimSpace(peer)
			if _, _, err := net.SplitHostPort(peer); err != nil {
				return bad("--join: %q is not host:port: %v", peer, err)
			}
			cfg.Join = append(cfg.Join, peer)
		}
	}
	switch f.profile {
	case "lan":
		cfg.Profile = cluster.LANProfile()
	case "fast":
		cfg.Profile = cluster.FastProfile()
	default:
		return bad("--profile %q: want lan or fast", f.profile)
	}
	if f.gossipKey != "" {
		key, err := base64.StdEncoding.DecodeString(f.gossipKey)
		if err != nil {
			return bad("--gossip-key is not base64: %v", err)
		}
		if n := len(key); n != 16 && n != 24 && n != 32 {
			return bad("--gossip-key is %d bytes; want 16, 24 or 32", n)
		}
		cfg.GossipKey = key
	}
	switch set := countSet(f.tlsCert, f.tlsKey, f.tlsCA); set {
	case 0:
	case 3:
		tc, err := cluster.LoadMutualTLS(f.tlsCert, f.tlsKey, f.tlsCA)
		if err != nil {
			return cfg, nil, err
		}
		cfg.TLS = tc
	default:
		return bad("--tls-cert, --tls-key and --tls-ca go together (%d of 3 given)", set)
	}

	if err := f.checkStore(); err != nil {
		return bad("%v", err)
	}
	// Reactor instances: a failed handler restarts its instance from its
	// committed state, at most 10 times within 10 s; beyond that the
	// instance is stopped and its next intent activates it afresh.
	f.events = web.NewEventLog(0)
	inst, err := supervision.NewInstances(supervision.Strategy{
		Intensity: supervision.Intensity{MaxRestarts: 10, Within: 10 * time.Second},
	}, supervision.Options{}, func(e supervision.Event) {
		f.events.Supervision(e)
		if e.Kind == supervision.EventStopped || e.Kind == supervision.EventFailed {
			logger.Warn("supervision", slog.String("event", e.Kind.String()), slog.String("actor", e.Child), slog.Any("reason", e.Reason))
		}
	})
	if err != nil {
		return cfg, nil, err
	}
	cfg.Runtime.Supervisor = inst
	if f.chaos {
		f.faults = fault.New(uint64(time.Now().UnixNano()))
		cfg.Runtime.Intercept = f.faults.Intercept
	}

	var sets []*web.Principals
	if f.grants != "" {
		ps, err := web.LoadPrincipals(f.grants)
		if err != nil {
			return cfg, nil, err
		}
		sets = append(sets, ps)
	}
	if f.dev {
		sets = append(sets, web.DevPrincipals())
	}
	var principals *web.Principals
	if len(sets) > 0 {
		var err error
		if principals, err = web.MergePrincipals(sets...); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, principals, nil
}

// checkStore resolves --store's default and checks the store flags.
func (f *nodeFlags) checkStore() error {
	if f.storeKind == "" {
		f.storeKind = "memory"
		if f.dataDir != "" {
			f.storeKind = "file"
		}
	}
	switch f.storeKind {
	case "memory":
		if f.dataDir != "" {
			return errors.New("--store memory keeps nothing in --data-dir; drop one of them")
		}
	case "file":
		if f.dataDir == "" {
			return errors.New("--store file needs --data-dir")
		}
	case "replicated":
		if f.dataDir == "" {
			return errors.New("--store replicated needs --data-dir")
		}
		if _, _, err := net.SplitHostPort(f.storeListen); err != nil {
			return fmt.Errorf("--store-listen %q is not host:port: %v", f.storeListen, err)
		}
		if f.storeAdvertise != "" {
			if _, _, err := net.SplitHostPort(f.storeAdvertise); err != nil {
				return fmt.Errorf("--store-advertise %q is not host:port: %v", f.storeAdvertise, err)
			}
		}
		for _, p := range f.peerList() {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return fmt.Errorf("--store-peers: %q is not host:port: %v", p, err)
			}
		}
		if f.storeReplicas < 0 || f.storeReplicas > 5 {
			return fmt.Errorf("--store-replicas %d: want 1 to 5", f.storeReplicas)
		}
		if f.storeSync != "always" && f.storeSync != "batched" {
			return fmt.Errorf("--store-sync %q: want always or batched", f.storeSync)
		}
	default:
		return fmt.Errorf("--store %q: want memory, file or replicated", f.storeKind)
	}
	return nil
}

func (f *nodeFlags) peerList() []string {
	var peers []string
	for _, p := range strings.Split(f.storePeers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	return peers
}

func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// runNode runs `packetflow node` until ctx ends, then stops gracefully.
func runNode(ctx context.Context, args []string, stderr io.Writer) int {
	f, err := parseNodeFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "packetflow node: %v\n", err)
		return 2
	}
	level, err := parseLevel(f.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "packetflow node: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, principals, err := f.config(logger)
	if err != nil {
		fmt.Fprintf(stderr, "packetflow node: %v\n", err)
		var usage usageError
		if errors.As(err, &usage) {
			return 2
		}
		return 1
	}
	if err := serveNode(ctx, cfg, principals, f, logger); err != nil {
		fmt.Fprintf(stderr, "packetflow node: %v\n", err)
		return 1
	}
	return 0
}

func serveNode(ctx context.Context, cfg cluster.NodeConfig, principals *web.Principals, f *nodeFlags, logger *slog.Logger) error {
	if f.dev {
		logger.Warn("--dev: demo principals alice (token alice, user:basic) and admin (token admin, user:admin) are valid; never use --dev outside a demo")
	}
	if principals == nil {
		logger.Warn("no --grants file and no --dev: no API token is valid, every intent is answered 401")
	}
	if cfg.TLS == nil {
		logger.Warn("no --tls-cert/--tls-key/--tls-ca: the actor remote is plaintext and trusts any process that reaches it")
	}
	if cfg.GossipKey == nil {
		logger.Warn("no --gossip-key: gossip is unencrypted")
	}
	st, err := openStore(f, cfg, logger)
	if err != nil {
		return err
	}
	if st != nil {
		defer func() {
			if err := st.Close(); err != nil {
				logger.Error("closing the state store", slog.Any("err", err))
			}
		}()
		cfg.Runtime.Store = st
	}
	// Listen before starting the node, so that a taken HTTP port fails
	// fast.
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return fmt.Errorf("--http %s: %w", f.http, err)
	}
	if err := web.BridgeGoMetrics(); err != nil {
		ln.Close()
		return err
	}
	// The node hosts the example components (examples/component) beside
	// the example reactors, and the component service every member serves.
	var host *component.Host
	define := cfg.Define
	cfg.MemberKinds = append(cfg.MemberKinds, component.ServiceKind)
	cfg.Define = func(rt *actor.Runtime) error {
		if err := define(rt); err != nil {
			return err
		}
		var err error
		if host, err = component.NewHost(component.HostConfig{Runtime: rt, Store: cfg.Runtime.Store, Logger: logger}); err != nil {
			return err
		}
		if err := host.Add(greeting.Definitions()...); err != nil {
			return err
		}
		return host.Define()
	}
	node, err := cluster.NewNode(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	host.SetRouter(node)
	if err := host.Start(ctx); err != nil {
		ln.Close()
		_ = node.Stop()
		return fmt.Errorf("starting the components: %w", err)
	}
	if f.faults != nil {
		f.faults.StopWith(node.Runtime().Deactivate)
	}
	wcfg := web.Config{Principals: principals, Logger: logger, Faults: f.faults, Events: f.events, ComponentHost: host}
	if f.faults != nil {
		logger.Warn("CHAOS: --chaos: fault injection is ON; principals holding chaos:inject can make this node's reactors fail through PUT /v1/chaos",
			slog.Uint64("seed", f.faults.Seed()))
	}
	if sup, ok := cfg.Runtime.Supervisor.(*supervision.Instances); ok {
		wcfg.Supervision = sup
	}
	handler, err := web.NewHandler(node, wcfg)
	if err != nil {
		ln.Close()
		_ = host.Stop(5 * time.Second)
		_ = node.Stop()
		return err
	}
	defer handler.Close()
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(handler.Close) // ends live dashboard streams, which Shutdown would wait for
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	})
	logger.Info("serving the HTTP API", slog.String("http", ln.Addr().String()))
	joinCtx, stopJoining := context.WithCancel(ctx)
	wg.Go(func() {
		if len(cfg.Join) == 0 {
			return
		}
		logger.Info("joining", slog.Any("peers", cfg.Join))
		if err := node.Join(joinCtx); err != nil && joinCtx.Err() == nil {
			logger.Error("joining failed", slog.Any("err", err))
		}
	})

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case runErr = <-serveErr:
		runErr = fmt.Errorf("HTTP server: %w", runErr)
	}
	stopJoining()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("HTTP server did not stop in time", slog.Any("err", err))
		srv.Close()
	}
	wg.Wait()
	return errors.Join(runErr, host.Stop(5*time.Second), node.Stop())
}

// openStore opens the state store --store names, or returns nil for
// memory. A file that cannot be read stops the node with its name; it is
// never reset.
func openStore(f *nodeFlags, cfg cluster.NodeConfig, logger *slog.Logger) (store.Store, error) {
	if f.storeKind == "memory" {
		logger.Warn("no --data-dir: reactor state lives in memory and is lost when the node stops")
		return nil, nil
	}
	if err := os.MkdirAll(f.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if f.storeKind == "file" {
		st, err := store.OpenBolt(filepath.Join(f.dataDir, "packetflow.db"), store.BoltOptions{Timeout: 5 * time.Second})
		if err != nil {
			return nil, err
		}
		logger.Info("durable reactor state", slog.String("file", st.Path()))
		if len(cfg.Join) > 0 {
			logger.Warn("--store file in a cluster keeps each member's state to itself: reactors that fail over start from the new owner's own file; use --store replicated to keep state across the loss of a member")
		}
		return st, nil
	}
	name := cfg.Name
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("--store replicated needs a stable member name: --name, or a host name: %w", err)
		}
		name = h
	}
	st, err := replicated.Open(replicated.Config{
		Name:        name,
		Dir:         filepath.Join(f.dataDir, "jetstream"),
		Listen:      f.storeListen,
		Advertise:   f.storeAdvertise,
		Peers:       f.peerList(),
		ClusterName: cfg.ClusterName,
		Replicas:    f.storeReplicas,
		SyncAlways:  f.storeSync == "always",
		TLS:         cfg.TLS,
		Logger:      logger,
	})
	if err != nil {
		return nil, fmt.Errorf("--store replicated: %w", err)
	}
	logger.Info("replicated reactor state", slog.String("dir", filepath.Join(f.dataDir, "jetstream")),
		slog.String("routes", st.RouteAddr()), slog.Any("peers", f.peerList()), slog.String("sync", f.storeSync))
	if cfg.TLS == nil {
		logger.Warn("no --tls-cert/--tls-key/--tls-ca: the replicated store's routes are plaintext and trust any process that reaches them")
	}
	return st, nil
}
