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

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
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
	// Principals authenticates callers of POST /v1/intents and says which
	// capabilities their intents carry. Zero (nil): no token is valid,
	// every intent is answered 401.
	Principals *Principals
	// RequestTimeout bounds each intent, from the moment its request body
	// is read to its reply. Zero: DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives internal errors (at error level) and one line per
	// intent (at debug level). Zero: warnings and errors to standard error.
	Logger *slog.Logger
	// Supervision, when set, is counted on /metrics as
	// packetflow_supervision_events_total (for example the
	// *supervision.Instances supervising the node's reactors).
	Supervision interface{ Stats() supervision.Stats }
	// Faults, when set, is the node's fault injector (its runtime's
	// Intercept), read and changed through GET and PUT /v1/chaos by
	// principals holding chaos:inject. Nil: fault injection is off and
	// /v1/chaos answers 404 to them.
	Faults *fault.Injector
}

// DefaultRequestTimeout is Config.RequestTimeout's zero meaning.
const DefaultRequestTimeout = 5 * time.Second

// MaxBodyBytes bounds a request body; a larger one is answered 413.
const MaxBodyBytes = 1 << 20

// Handler is a node's HTTP API (see the package documentation for its
// routes). It is safe for concurrent use. Close it once the server that
// serves it has stopped.
type Handler struct {
	node       Node
	rt         *actor.Runtime
	principals *Principals
	timeout    time.Duration
	log        *slog.Logger
	mux        *http.ServeMux
	faults     *fault.Injector // nil: fault injection is off
	metrics    *metrics

	closeOnce   sync.Once
	unsubscribe func()
}

// NewHandler returns the HTTP API of node.
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
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("web: negative RequestTimeout %v", cfg.RequestTimeout)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
	m, err := newMetrics(node, cfg.Supervision, cfg.Logger)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		node: node, rt: rt, principals: cfg.Principals, timeout: cfg.RequestTimeout,
		log: cfg.Logger, metrics: m, mux: http.NewServeMux(), faults: cfg.Faults,
	}
	h.mux.HandleFunc("/healthz", h.serveHealth)
	h.mux.HandleFunc("/v1/members", h.serveMembers)
	h.mux.HandleFunc("/v1/intents", h.serveIntent)
	h.mux.HandleFunc("/metrics", h.serveMetrics)
	h.mux.HandleFunc("/v1/chaos", h.serveChaos)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, codeNotFound, "no route "+truncate(r.URL.Path, 128)))
	})
	h.unsubscribe = rt.Subscribe(func(e actor.Event) {
		if d, ok := e.(*actor.PermissionDenied); ok {
			m.denied.WithLabelValues(d.IntentType).Inc()
		}
	})
	return h, nil
}

// Close stops counting denials (it drops the handler's subscription to the
// runtime's events). The handler starts no goroutines; it keeps serving,
// without the denial counter, if it is called after Close.
func (h *Handler) Close() {
	h.closeOnce.Do(h.unsubscribe)
}

// ServeHTTP serves the API. A panic while serving is logged and answered
// 500 rather than dropping the connection.
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
	h.mux.ServeHTTP(w, r)
}

// allow answers 405 and returns false unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed,
		fmt.Sprintf("method %s not allowed, use %s", truncate(r.Method, 32), strings.Join(methods, " or "))))
	return false
}

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
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

func (h *Handler) serveMembers(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
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
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	h.metrics.http.ServeHTTP(w, r)
}
