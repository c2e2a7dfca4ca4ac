package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/Masterminds/semver/v3"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/component/config"
)

// Component is a long-lived part of a service (a connector, a cache, a
// worker pool) that a Host runs as a supervised actor. Its methods run on
// the component's actor, one at a time, never concurrently with each other
// or with Receive.
type Component interface {
	// Init prepares a fresh instance: it is called before every Start of a
	// new instance (the first start and each restart after a failure).
	Init(ctx context.Context, env *Env) error
	// Start starts the component's work. An error is a failure: the
	// host's supervision strategy decides (restart, or escalate once the
	// intensity is exceeded).
	Start(ctx context.Context) error
	// Stop stops it; it is called before the instance is discarded.
	Stop(ctx context.Context) error
	// Health reports how the component is doing. It is called every
	// Definition.HealthInterval with a context bounded by HealthTimeout:
	// one that does not return in time is unhealthy.
	Health(ctx context.Context) Health
}

// Receiver is a component that handles messages (Host.Send, Request,
// Broadcast). A panic in Receive is the component's failure: the sender
// gets an error and the supervisor decides.
type Receiver interface {
	Receive(ctx context.Context, msg proto.Message) (reply proto.Message, err error)
}

// Status is a component's health.
type Status int

const (
	Unknown   Status = iota // not checked yet, or not running
	Healthy                 // working
	Degraded                // working with reduced service
	Unhealthy               // not working
)

func (s Status) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case Unhealthy:
		return "unhealthy"
	}
	return "unknown"
}

// Health is a component's answer to a health check.
type Health struct {
	Status Status
	Detail string
}

// Definition declares a component: what it is (for discovery), what it
// needs (dependencies) and how to make it.
type Definition struct {
	// ID names the component on its member: letters, digits, '-', '_', '.'.
	ID string
	// Type, Version (semantic), Capabilities (what it provides, e.g.
	// "storage:kv") and Tags are what discovery queries match.
	Type         string
	Version      string
	Capabilities []string
	Tags         []string
	// Weight is its share in weighted selection. Zero: 1.
	Weight float64
	// DependsOn lists components of the same host that must be running
	// before it starts; they stop after it.
	DependsOn []string
	// New makes a fresh instance, again for every restart.
	New func() Component
	// HealthInterval is how often its health is checked. Zero: the host's.
	HealthInterval time.Duration
	// HealthTimeout bounds each check. Zero: the host's.
	HealthTimeout time.Duration
	// Alerts are evaluated after every health check.
	Alerts []AlertRule
	// Config, when set, is the schema of the component's configuration
	// (component/config): kept in the host's store under the component's
	// id, so every member hosting a component of that id shares one
	// history, and handed to the component as Env.Config. A component
	// that implements Reconfigurer is told of every change.
	Config *config.Schema
	// InitialConfig are the values of the first version, when the store
	// holds none yet.
	InitialConfig map[string]any
}

// Sentinel errors; every error of this package matches one with errors.Is.
var (
	// ErrDefinition: a definition is malformed, two share an id, a
	// dependency is missing or the dependencies form a cycle.
	ErrDefinition = errors.New("component: bad definition")
	// ErrNotFound: no component with that id (or matching that query).
	ErrNotFound = errors.New("component: not found")
	// ErrNotRunning: the component is stopped; it takes no messages.
	ErrNotRunning = errors.New("component: not running")
	// ErrNoReceiver: the component does not handle messages.
	ErrNoReceiver = errors.New("component: does not receive messages")
	// ErrFailed: the component failed handling the message.
	ErrFailed = errors.New("component: failed")
	// ErrHostStopped: the host is not running.
	ErrHostStopped = errors.New("component: host not running")
)

func (d *Definition) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrDefinition, d.ID, fmt.Sprintf(format, args...))
	}
	if !validID(d.ID) {
		return fmt.Errorf("%w: component id %q: want letters, digits, '-', '_' or '.'", ErrDefinition, d.ID)
	}
	switch {
	case d.Type == "":
		return bad("no type")
	case d.New == nil:
		return bad("no New function")
	case d.Weight < 0:
		return bad("negative weight")
	case d.HealthInterval < 0 || d.HealthTimeout < 0:
		return bad("negative health interval or timeout")
	case slices.Contains(d.DependsOn, d.ID):
		return bad("depends on itself")
	}
	if d.Version != "" {
		if _, err := semver.NewVersion(d.Version); err != nil {
			return bad("version %q: %v", d.Version, err)
		}
	}
	for _, r := range d.Alerts {
		if err := r.validate(); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Reconfigurer is a component told of each change of its configuration,
// on its actor, in version order. An error is reported as an event; the
// new version stays current (it passed the schema's validation before it
// was committed).
type Reconfigurer interface {
	Reconfigure(ctx context.Context, old, new config.Snapshot) error
}

// Env is what a component gets from its host in Init.
type Env struct {
	// ID is the component's id; Member the member that runs it.
	ID, Member string
	// Logger logs with the component's id.
	Logger *slog.Logger
	// Metrics makes the component's own metrics, exported with the host's.
	Metrics *Metrics
	// Config is the component's configuration (nil without
	// Definition.Config): read it in Init and Start, update or roll it
	// back from anywhere (Host.Config gives it by id).
	Config *config.Config
	host   *Host
}

// Send sends msg to another component (see Host.Send).
func (e *Env) Send(ctx context.Context, to Address, msg proto.Message, opts ...SendOption) error {
	return e.host.Send(ctx, to, msg, opts...)
}

// Request sends msg to another component and waits for its reply (see
// Host.Request).
func (e *Env) Request(ctx context.Context, to Address, msg proto.Message, opts ...SendOption) (proto.Message, error) {
	return e.host.Request(ctx, to, msg, opts...)
}
