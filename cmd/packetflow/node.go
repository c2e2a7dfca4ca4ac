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
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/filesystem"
	"github.com/packetflow/packetflow/store"
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
	fs.StringVar(&f.dataDir, "data-dir", "", "`directory` of the durable reactor state (a bbolt file, packetflow.db): a restarted node finds every counter as it left it; without it state lives in memory")
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
	if f.dataDir != "" {
		st, err := openStore(f.dataDir)
		if err != nil {
			return err
		}
		defer func() {
			if err := st.Close(); err != nil {
				logger.Error("closing the state store", slog.Any("err", err))
			}
		}()
		cfg.Runtime.Store = st
		logger.Info("durable reactor state", slog.String("file", st.Path()))
		if len(cfg.Join) > 0 {
			logger.Warn("--data-dir in a cluster keeps each member's state to itself: it is not replicated, so reactors that fail over start from the new owner's own file, and state acknowledged meanwhile is not seen by a returning member")
		}
	} else {
		logger.Warn("no --data-dir: reactor state lives in memory and is lost when the node stops")
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
	node, err := cluster.NewNode(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	handler, err := web.NewHandler(node, web.Config{Principals: principals, Logger: logger})
	if err != nil {
		ln.Close()
		_ = node.Stop()
		return err
	}
	defer handler.Close()
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
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
	return errors.Join(runErr, node.Stop())
}

// openStore opens (creating it if needed) the state file in dir. A file
// that cannot be read stops the node with its name; it is never reset.
func openStore(dir string) (*store.Bolt, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return store.OpenBolt(filepath.Join(dir, "packetflow.db"), store.BoltOptions{Timeout: 5 * time.Second})
}
