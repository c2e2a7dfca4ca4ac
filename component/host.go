package component

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/supervision"
)

// Router carries component messages and directory queries to other
// members: a *cluster.Node.
type Router interface {
	Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error)
	Members() []cluster.Member
}

// HostConfig configures a Host. Runtime is required.
type HostConfig struct {
	// Runtime is the runtime the components' actors run in; Host.Define
	// registers the component service on it.
	Runtime *actor.Runtime
	// Member is this member's name (the node's name). Zero: the runtime's.
	Member string
	// Router reaches the other members. Zero: this host alone (a node's
	// host, made inside NodeConfig.Define before the node exists, gets it
	// with SetRouter).
	Router Router
	// Strategy supervises the components, in start order. Zero:
	// rest-for-one (a component that fails restarts with every component
	// started after it, its dependents among them), at most 5 restarts
	// within 10 s, then the host stops them all.
	Strategy *supervision.Strategy
	// HealthInterval and HealthTimeout are the defaults of the
	// definitions'. Zero: 1 s and 500 ms.
	HealthInterval, HealthTimeout time.Duration
	// LifecycleTimeout bounds each Init, Start and Stop. Zero: 10 s.
	LifecycleTimeout time.Duration
	// Store keeps the components' configurations (Definition.Config): the
	// node's store, replicated in a cluster, so that every member reads
	// the same versions. Zero: an in-memory store of this host's own.
	Store store.Store
	// ConfigPoll is how often a configuration is reloaded from Store to
	// pick up other members' changes. Zero: 1 s.
	ConfigPoll time.Duration
	// Logger: zero, warnings and errors to standard error.
	Logger *slog.Logger
}

// Host runs a member's components: each a supervised actor, started in
// dependency order and stopped in reverse, discoverable from every member
// through the component service (Define). Safe for concurrent use.
type Host struct {
	cfg     HostConfig
	rt      *actor.Runtime
	member  string
	log     *slog.Logger
	metrics *Metrics
	caller  *intent.Context // the host's own identity for its messages

	mu      sync.Mutex // guards everything below
	defs    []Definition
	order   []Definition
	slots   map[string]*slot
	tree    *supervision.Tree
	running bool
	subs    map[int]func(Event)
	nextSub int
	rr      map[string]uint64 // round-robin positions by query
}

// NewHost makes a host; Define then registers its service on the runtime
// (inside cluster.NodeConfig.Define for a node).
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Runtime == nil {
		return nil, fmt.Errorf("%w: HostConfig.Runtime is required", ErrDefinition)
	}
	if cfg.Member == "" {
		cfg.Member = cfg.Runtime.Name()
	}
	if cfg.Strategy == nil {
		cfg.Strategy = &supervision.Strategy{Kind: supervision.RestForOne,
			Intensity: supervision.Intensity{MaxRestarts: 5, Within: 10 * time.Second}}
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 500 * time.Millisecond
	}
	if cfg.LifecycleTimeout <= 0 {
		cfg.LifecycleTimeout = 10 * time.Second
	}
	if cfg.Store == nil {
		cfg.Store = store.NewMemory()
	}
	if cfg.ConfigPoll <= 0 {
		cfg.ConfigPoll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return &Host{
		cfg: cfg, rt: cfg.Runtime, member: cfg.Member,
		log:     cfg.Logger.With(slog.String("member", cfg.Member)),
		metrics: newMetrics(cfg.Member),
		slots:   map[string]*slot{},
		subs:    map[int]func(Event){},
		rr:      map[string]uint64{},
	}, nil
}

// SetRouter sets the router to the other members (normally the node whose
// Define made the host), before Start.
func (h *Host) SetRouter(r Router) {
	h.mu.Lock()
	h.cfg.Router = r
	h.mu.Unlock()
}

func (h *Host) router() Router {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg.Router
}

// Member is the name of the member the host runs on.
func (h *Host) Member() string { return h.member }

// Add defines components; it is an error after Start. A malformed
// definition or a duplicate id changes nothing.
func (h *Host) Add(defs ...Definition) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		return fmt.Errorf("%w: Add after Start", ErrDefinition)
	}
	for i := range defs {
		if err := defs[i].validate(); err != nil {
			return err
		}
	}
	all := append(slices.Clone(h.defs), defs...)
	seen := map[string]bool{}
	for _, d := range all {
		if seen[d.ID] {
			return fmt.Errorf("%w: two components have the id %q", ErrDefinition, d.ID)
		}
		seen[d.ID] = true
	}
	h.defs = all
	return nil
}

// Start checks the dependencies (a missing one or a cycle is an
// ErrDefinition naming the components) and starts every component in
// dependency order, each once its dependencies have started. A component
// whose Init or Start fails is restarted by the strategy; Start returns
// once every component has been started or given up on.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.running || h.tree != nil {
		h.mu.Unlock()
		return nil
	}
	order, err := startOrder(h.defs)
	if err == nil && h.caller == nil {
		if h.caller, err = h.rt.NewContext("node:"+h.member, "component:admin"); err != nil {
			err = fmt.Errorf("component: the host's identity: %w (call Host.Define first)", err)
		}
	}
	if err != nil {
		h.mu.Unlock()
		return err
	}
	spec := supervision.Spec{Name: "components", Strategy: *h.cfg.Strategy}
	for _, d := range order {
		s := &slot{def: d, host: h, state: "stopped", alerts: map[string]*alertState{}}
		s.env = &Env{ID: d.ID, Member: h.member, host: h,
			Logger:  h.log.With(slog.String("component", d.ID)),
			Metrics: h.metrics.forComponent(d.ID)}
		if d.Config != nil {
			c, err := config.New(ctx, h.cfg.Store, d.ID, *d.Config, config.Options{
				Initial: d.InitialConfig, PollInterval: h.cfg.ConfigPoll, Logger: s.env.Logger})
			if err != nil {
				h.closeConfigs()
				h.mu.Unlock()
				return fmt.Errorf("component %s: configuration: %w", d.ID, err)
			}
			s.env.Config = c
			c.Watch(func(old, new config.Snapshot) { h.reconfigure(s, old, new) })
		}
		s.wanted.Store(true)
		h.slots[d.ID] = s
		spec.Children = append(spec.Children, supervision.Child{
			Name:    d.ID,
			New:     func() protoactor.Actor { return &instance{s: s} },
			Options: []protoactor.PropsOption{protoactor.WithMailbox(protoactor.UnboundedPriority())},
		})
	}
	h.order = order
	h.mu.Unlock()
	// The components start (and emit events) while the tree starts: the
	// host's lock is not held meanwhile.
	tree, err := supervision.Start(h.rt.System(), spec, supervision.Options{StartTimeout: h.cfg.LifecycleTimeout})
	if err != nil {
		return fmt.Errorf("component: starting: %w", err)
	}
	tree.Subscribe(h.supervisionEvent)
	h.mu.Lock()
	h.tree, h.running = tree, true
	h.mu.Unlock()
	return ctx.Err()
}

// Stop stops every component in reverse dependency order.
func (h *Host) Stop(timeout time.Duration) error {
	h.mu.Lock()
	tree := h.tree
	h.running = false
	h.mu.Unlock()
	if tree == nil {
		return nil
	}
	err := tree.Stop(timeout)
	h.mu.Lock()
	h.closeConfigs()
	h.mu.Unlock()
	return err
}

// closeConfigs stops the configurations' pollers and watchers. h.mu is
// held.
func (h *Host) closeConfigs() {
	for _, s := range h.slots {
		if s.env.Config != nil {
			_ = s.env.Config.Close()
		}
	}
}

// Config returns the configuration of component id (ErrNotFound for an
// unknown id or one without Definition.Config).
func (h *Host) Config(id string) (*config.Config, error) {
	h.mu.Lock()
	s, ok := h.slots[id]
	h.mu.Unlock()
	if !ok || s.env.Config == nil {
		return nil, fmt.Errorf("%w: no configuration of component %q on %s", ErrNotFound, id, h.member)
	}
	return s.env.Config, nil
}

// reconfigure hands a configuration change to the component's actor.
func (h *Host) reconfigure(s *slot, old, new config.Snapshot) {
	h.mu.Lock()
	tree := h.tree
	h.mu.Unlock()
	if tree == nil {
		return
	}
	if pid, ok := tree.PID("components/" + s.def.ID); ok {
		h.rt.System().Root.Send(pid, &reconfigure{old: old, new: new})
	}
}

func (h *Host) supervisionEvent(e supervision.Event) {
	id := e.Child[len("components/"):]
	switch e.Kind {
	case supervision.EventFailed:
		h.metrics.failure(id)
		h.emit(Event{Kind: EventFailed, Component: id, Err: e.Reason, Detail: e.Directive.String()})
	case supervision.EventRestarted:
		h.emit(Event{Kind: EventRestarted, Component: id, Err: e.Reason})
	case supervision.EventEscalated:
		h.log.Error("component: restarts exceeded the intensity; stopping every component", "component", id, "reason", e.Reason)
		h.emit(Event{Kind: EventFailed, Component: id, Err: e.Reason, Detail: "escalated: the host stops"})
	}
}

func (h *Host) slot(id string) (*slot, *protoactor.PID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.slots[id]
	if !ok {
		return nil, nil, fmt.Errorf("%w: no component %q on %s", ErrNotFound, id, h.member)
	}
	if !h.running {
		return nil, nil, ErrHostStopped
	}
	pid, ok := h.tree.PID("components/" + id)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s is restarting", ErrNotRunning, id)
	}
	return s, pid, nil
}

// StartComponent starts a stopped component, its dependencies first.
func (h *Host) StartComponent(ctx context.Context, id string) error {
	h.mu.Lock()
	deps := dependencies(h.order, id)
	h.mu.Unlock()
	for _, d := range append(deps, id) {
		if err := h.lifecycle(ctx, d, opStart); err != nil {
			return err
		}
	}
	return nil
}

// StopComponent stops a component, the components that depend on it
// first. A stopped component takes no messages (ErrNotRunning) until
// started again.
func (h *Host) StopComponent(ctx context.Context, id string) error {
	h.mu.Lock()
	deps := dependents(h.order, id)
	h.mu.Unlock()
	for _, d := range append(deps, id) {
		if err := h.lifecycle(ctx, d, opStop); err != nil {
			return err
		}
	}
	return nil
}

// RestartComponent stops a component and starts a fresh instance of it
// (Init, Start).
func (h *Host) RestartComponent(ctx context.Context, id string) error {
	return h.lifecycle(ctx, id, opRestart)
}

func (h *Host) lifecycle(ctx context.Context, id string, op controlOp) error {
	_, pid, err := h.slot(id)
	if err != nil {
		return err
	}
	c := &control{op: op, done: make(chan error, 1)}
	h.rt.System().Root.Send(pid, c)
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("component: %s did not answer in time: %w", id, ctx.Err())
	}
}

// Local describes this host's components.
func (h *Host) Local() []Entry {
	h.mu.Lock()
	order := slices.Clone(h.order)
	slots := h.slots
	h.mu.Unlock()
	out := make([]Entry, 0, len(order))
	for _, d := range order {
		out = append(out, slots[d.ID].entry(h.member))
	}
	return out
}

// Alerts returns the alerts firing now on this host.
func (h *Host) Alerts() []Alert {
	var out []Alert
	h.mu.Lock()
	slots := make([]*slot, 0, len(h.slots))
	for _, s := range h.slots {
		slots = append(slots, s)
	}
	h.mu.Unlock()
	for _, s := range slots {
		out = append(out, s.firing()...)
	}
	slices.SortFunc(out, func(a, b Alert) int {
		if c := strings.Compare(a.Component, b.Component); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return out
}
