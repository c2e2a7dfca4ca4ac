package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/supervision/fault"
)

// Node is what the HTTP API needs of a cluster node (cluster.Node satisfies
// it). Its methods are called from request goroutines concurrently.
type Node interface {
	// Runtime is the node's reactor runtime: its intent types, reactor
	// kinds, contexts, counters and events.
	Runtime() *actor.Runtime
	// Request sends msg as an intent on behalf of caller, routed across the
	// cluster, and waits for the reply until ctx is done.
	Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error)
	// Members lists the cluster's members as this node sees them.
	Members() []cluster.Member
	// Ready reports whether the node is a cluster member.
	Ready() bool
}

// knownMembers is implemented by nodes that also know members declared
// dead that still count (cluster.Node: for its quorum); /v1/members lists
// them with status "dead", so an operator sees why a node lacks quorum.
type knownMembers interface {
	KnownMembers() []cluster.Member
}

// Config configures a Handler. The zero value serves a node that accepts no
// token.
type Config struct {
	// Principals authenticates callers (bearer tokens, and the login page
	// that starts browser sessions) and says which capabilities their
	// requests and intents carry. Zero (nil): no token is valid, every
	// intent is answered 401 and nobody can sign in.
	Principals *Principals
	// RequestTimeout bounds each intent, from the moment its request body
	// is read to its reply. Zero: DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives internal errors (at error level) and one line per
	// intent (at debug level). Zero: warnings and errors to standard error.
	Logger *slog.Logger
	// Supervision, when set, is counted on /metrics as
	// packetflow_supervision_events_total and on the dashboard (for example
	// the *supervision.Instances supervising the node's reactors).
	Supervision interface{ Stats() supervision.Stats }
	// Faults, when set, is the node's fault injector (its runtime's
	// Intercept), read and changed through GET and PUT /v1/chaos and the
	// dashboard by principals holding chaos:inject. Nil: fault injection is
	// off and /v1/chaos answers 404 to them.
	Faults *fault.Injector
	// Events is the event log the dashboard lists. Pass the same log's
	// Supervision method to supervision.NewInstances (as part of its
	// onEvent) to list supervision decisions; the handler adds its
	// runtime's reactor and effect failures and permission denials. Zero:
	// a log of the handler's own, with the runtime's events only.
	Events *EventLog
	// Components, when set, lists the node's components and their health
	// on the dashboard; a source that also implements ComponentRollback
	// gets a roll-back action. Zero: the dashboard shows "no components".
	// (ComponentHost sets it for a component.Host.)
	Components ComponentSource
	// ComponentHost, when set, is the node's component host: the dashboard
	// lists its components (and offers configuration roll-back to holders
	// of component:admin), GET /v1/components finds components on every
	// member and GET /v1/alerts lists this node's firing alerts (both for
	// component:read), and /metrics includes the components' metrics.
	ComponentHost *component.Host
	// Gatherers are more Prometheus registries served on /metrics.
	Gatherers []prometheus.Gatherer
	// PeerURL, when set, returns the base URL of a member's HTTP API
	// ("http://10.0.0.2:8080"), or "" when it does not know it, so that
	// the dashboard shows that member's activations and rates from its GET
	// /v1/stats. Zero: the dashboard shows them for this node only (member
	// metadata does not carry HTTP addresses).
	PeerURL func(cluster.Member) string
	// DashboardRefresh is how often a live dashboard updates, at least
	// MinDashboardRefresh. Zero: DefaultDashboardRefresh.
	DashboardRefresh time.Duration
	// SessionTTL is how long a browser's sign-in lasts. Zero:
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions a node keeps; beyond it, the one
	// closest to expiring ends. Zero: DefaultMaxSessions.
	MaxSessions int
}

// DefaultRequestTimeout is Config.RequestTimeout's zero meaning.
const DefaultRequestTimeout = 5 * time.Second

// MaxBodyBytes bounds a request body; a larger one is answered 413.
const MaxBodyBytes = 1 << 20

// Handler is a node's HTTP API and pages (see the package documentation
// for its routes), served by one Router. It is safe for concurrent use.
// Close it when the server that serves it shuts down: Close ends the live
// dashboards' streams, which http.Server.Shutdown would otherwise wait for
// (srv.RegisterOnShutdown(h.Close) does it at the right moment).
type Handler struct {
	node        Node
	rt          *actor.Runtime
	principals  *Principals
	timeout     time.Duration
	log         *slog.Logger
	router      *Router
	auth        *authenticator
	pages       *pageRenderer
	comps       *Components
	dash        *dashboard
	faults      *fault.Injector // nil: fault injection is off
	supervision interface{ Stats() supervision.Stats }
	metrics     *metrics

	closeOnce   sync.Once
	unsubscribe []func()
}

// NewHandler returns the HTTP API and pages of node.
//
// Every principal's capabilities must be known to the node's capability
// catalog (define the schemas first): a grant the node cannot compile is an
// error here rather than a failure on every request.
//
// memberlist reports its metrics through hashicorp/go-metrics' global
// sink. The first NewHandler of a process installs a go-metrics Prometheus
// sink as that global sink (replacing any other, with no hostname prefix and
// no runtime metrics of its own); every Handler serves what it collects on
// /metrics.
func NewHandler(node Node, cfg Config) (*Handler, error) {
	if node == nil || node.Runtime() == nil {
		return nil, errors.New("web: NewHandler needs a node with a runtime")
	}
	rt := node.Runtime()
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RequestTimeout", cfg.RequestTimeout}, {"DashboardRefresh", cfg.DashboardRefresh}, {"SessionTTL", cfg.SessionTTL}} {
		if d.v < 0 {
			return nil, fmt.Errorf("web: negative %s %v", d.name, d.v)
		}
	}
	if cfg.DashboardRefresh != 0 && cfg.DashboardRefresh < MinDashboardRefresh {
		return nil, fmt.Errorf("web: DashboardRefresh %v is below %v", cfg.DashboardRefresh, MinDashboardRefresh)
	}
	if cfg.MaxSessions < 0 {
		return nil, fmt.Errorf("web: negative MaxSessions %d", cfg.MaxSessions)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.DashboardRefresh == 0 {
		cfg.DashboardRefresh = DefaultDashboardRefresh
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Events == nil {
		cfg.Events = NewEventLog(0)
	}
	// chaos:inject is a capability of every node, so that a grants file
	// may name it whether or not fault injection is on.
	if _, err := rt.Catalog().Schema("chaos"); err != nil {
		if err := rt.DefineSchema("chaos", []string{"inject"}); err != nil {
			return nil, fmt.Errorf("web: defining the chaos capability: %w", err)
		}
	}
	if cfg.Principals != nil {
		for i, p := range cfg.Principals.list {
			if _, err := rt.NewContext(p.Name, p.Capabilities...); err != nil {
				return nil, fmt.Errorf("web: principal %q of %s: %w", p.Name, cfg.Principals.source[i], err)
			}
		}
	}
	if cfg.ComponentHost != nil {
		if cfg.Components == nil {
			cfg.Components = hostComponents{cfg.ComponentHost}
		}
		cfg.Gatherers = append(cfg.Gatherers, cfg.ComponentHost.Gatherer())
	}
	m, err := newMetrics(node, cfg.Supervision, cfg.Gatherers, cfg.Logger)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		node: node, rt: rt, principals: cfg.Principals, timeout: cfg.RequestTimeout,
		log: cfg.Logger, metrics: m, faults: cfg.Faults, supervision: cfg.Supervision,
	}
	if err := h.build(cfg); err != nil {
		return nil, err
	}
	if cfg.ComponentHost != nil {
		if err := h.componentRoutes(cfg.ComponentHost); err != nil {
			return nil, err
		}
	}
	events := cfg.Events
	h.unsubscribe = append(h.unsubscribe, rt.Subscribe(func(e actor.Event) {
		if d, ok := e.(*actor.PermissionDenied); ok {
			m.denied.WithLabelValues(d.IntentType).Inc()
		}
		events.runtimeEvent(e)
	}))
	// Supervision trees publish their decisions on the actor system's
	// event stream.
	stream := rt.System().EventStream
	sub := stream.Subscribe(func(msg any) {
		if e, ok := msg.(*supervision.Event); ok && e != nil {
			events.Supervision(*e)
		}
	})
	h.unsubscribe = append(h.unsubscribe, func() { stream.Unsubscribe(sub) })
	return h, nil
}

// build makes the handler's components, pages, dashboard and router, and
// declares its routes.
func (h *Handler) build(cfg Config) error {
	dcs, err := dashboardComponents()
	if err != nil {
		return err
	}
	if h.comps, err = NewComponents(h.rt.Catalog(), dcs...); err != nil {
		return err
	}
	if h.pages, err = newPageRenderer(h.rt.Name(), h.comps, pageFuncs, h.log); err != nil {
		return fmt.Errorf("web: parsing the pages: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	h.dash = &dashboard{
		h: h, refresh: cfg.DashboardRefresh, peerURL: cfg.PeerURL, events: cfg.Events, components: cfg.Components,
		client:  &http.Client{Transport: transport, Timeout: peerTimeout},
		streams: make(chan struct{}, MaxStreams), done: make(chan struct{}),
	}
	h.auth = &authenticator{rt: h.rt, principals: h.principals,
		sessions: newSessionStore(cfg.SessionTTL, cfg.MaxSessions), origins: http.NewCrossOriginProtection()}
	h.router = newRouter(h.rt, h.auth, h.pages, h.log)
	chaos := []string{ChaosCapability}
	observeIntent := func(x *exchange, d time.Duration) {
		label := x.label
		if label == "" {
			label = unknownType
		}
		h.metrics.observe(label, x.code, d)
	}
	for _, rt := range []Route{
		{Method: http.MethodGet, Pattern: "/healthz", Public: true, Handler: h.serveHealth},
		{Method: http.MethodGet, Pattern: "/v1/members", Public: true, Handler: h.serveMembers},
		{Method: http.MethodGet, Pattern: "/v1/stats", Public: true, Handler: h.serveStats},
		{Method: http.MethodPost, Pattern: "/v1/intents", Handler: h.serveIntent, observe: observeIntent},
		{Method: http.MethodGet, Pattern: "/metrics", Public: true, Handler: h.serveMetrics},
		{Method: http.MethodGet, Pattern: "/v1/chaos", Requires: chaos, Handler: h.serveChaos},
		{Method: http.MethodPut, Pattern: "/v1/chaos", Requires: chaos, Handler: h.serveChaos},
		{Method: http.MethodGet, Pattern: "/{$}", Page: true, Handler: h.serveDashboard},
		{Method: http.MethodGet, Pattern: "/dashboard/stream", Page: true, Handler: h.serveStream},
		{Method: http.MethodPost, Pattern: "/dashboard/chaos", Page: true, Requires: chaos, Handler: h.serveChaosForm},
		{Method: http.MethodPost, Pattern: "/dashboard/components/{name}/rollback", Page: true, Handler: h.serveRollback},
		{Method: http.MethodGet, Pattern: "/login", Page: true, Public: true, Handler: h.serveLoginPage},
		{Method: http.MethodPost, Pattern: "/login", Page: true, Public: true, Handler: h.serveLogin},
		{Method: http.MethodPost, Pattern: "/logout", Page: true, Handler: h.serveLogout},
		{Method: http.MethodGet, Pattern: "/assets/{file}", Public: true, Handler: h.serveAsset},
	} {
		if err := h.router.Handle(rt); err != nil {
			return err
		}
	}
	return nil
}

// Handle declares another route on the node's router — an application's
// page or API beside the node's own — with the same authentication,
// capability checks and error forms. Declare routes before serving.
func (h *Handler) Handle(route Route) error { return h.router.Handle(route) }

// Router is the node's router, for handlers that check capabilities
// depending on more than the path (Router.Authorize).
func (h *Handler) Router() *Router { return h.router }

// Close ends the live dashboards' streams, stops counting denials and
// recording the runtime's events, and closes idle connections to peers.
// The handler starts no goroutines of its own; it keeps serving, without
// live streams, if it is called after Close. Close is idempotent.
func (h *Handler) Close() {
	h.closeOnce.Do(func() {
		for _, f := range h.unsubscribe {
			f()
		}
		close(h.dash.done)
		h.dash.client.CloseIdleConnections()
	})
}

// ServeHTTP serves the API and pages. A panic while serving is logged and
// answered 500 rather than dropping the connection.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		h.log.Error("web: panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
		writeError(w, newError(http.StatusInternalServerError, codeInternal, "internal error"))
	}()
	h.router.ServeHTTP(w, r)
}

func (h *Handler) serveHealth(w http.ResponseWriter, _ *http.Request) {
	if !h.node.Ready() {
		writeError(w, newError(http.StatusServiceUnavailable, codeUnavailable, "the node is not a cluster member yet"))
		return
	}
	live := 0
	for _, m := range h.node.Members() {
		if m.Status.Live() {
			live++
		}
	}
	writeJSON(w, http.StatusOK, HealthResponse{Status: "ok", Node: h.rt.Name(), Members: live})
}

func (h *Handler) serveMembers(w http.ResponseWriter, _ *http.Request) {
	members := h.node.Members()
	if k, ok := h.node.(knownMembers); ok {
		members = k.KnownMembers()
	}
	out := MembersResponse{Members: make([]MemberInfo, 0, len(members))}
	for _, m := range members {
		kinds := m.Kinds
		if kinds == nil {
			kinds = []string{}
		}
		out.Members = append(out.Members, MemberInfo{
			ID: m.ID, Name: m.Name, Address: m.Address, Kinds: kinds,
			Status: strings.ToLower(m.Status.String()),
		})
	}
	slices.SortFunc(out.Members, func(a, b MemberInfo) int {
		return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID)
	})
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	h.metrics.http.ServeHTTP(w, r)
}
