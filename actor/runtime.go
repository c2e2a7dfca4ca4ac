package actor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/internal/wait"
	"github.com/packetflow/packetflow/store"
)

// Config configures a Runtime. The zero value is a working single-process
// runtime.
type Config struct {
	// Name identifies this node in traces and logs. Zero: "local".
	Name string
	// Clock is the runtime's notion of now, used for deadlines and grant
	// validity windows. Zero: time.Now.
	Clock func() time.Time
	// RequestTimeout bounds a Request whose context has no deadline; the
	// intent carries the resulting deadline. Zero: 30s.
	RequestTimeout time.Duration
	// EffectTimeout bounds each effect. Zero: 30s.
	EffectTimeout time.Duration
	// StopTimeout bounds how long Stop waits for reactors and effects to
	// finish. Zero: 10s.
	StopTimeout time.Duration
	// Logger receives the runtime's and Proto.Actor's logs. Zero: warnings
	// and errors to standard error.
	Logger *slog.Logger
	// Supervisor decides what happens to a reactor instance whose handler
	// panicked. Zero: restart it from its committed state, at most 10 times
	// within 10s, then stop it.
	Supervisor protoactor.SupervisorStrategy
	// Dispatcher runs reactor mailboxes. Zero: Proto.Actor's default, a
	// goroutine per mailbox turn, yielding every 300 messages.
	Dispatcher protoactor.Dispatcher
	// Store keeps the committed state of reactors declared with Persist:
	// their replies leave only after the new state is committed there, and
	// an activation recovers the last committed state. The runtime does not
	// close it. Zero: every reactor's state lives in memory only.
	Store store.Store
	// FencedReads makes a handler of a durable reactor that changed nothing
	// (a read) check that the state it read is still the committed one,
	// and handle the intent again on the committed state when another
	// activation of the instance committed since: no reply is computed
	// from a stale state. It costs a Load per read; a cluster node sets it,
	// since two members may briefly both hold an activation. Zero: reads
	// trust the activation's state (right when one process owns the store).
	FencedReads bool
	// CommitTimeout bounds each load from and commit to Store. Zero: 10s.
	CommitTimeout time.Duration
	// System is the Proto.Actor system to run on. Zero: a new local one,
	// shut down by Stop. A system passed in is not shut down by Stop.
	System *protoactor.ActorSystem
	// Intercept, when set, runs inside each handler's failure boundary
	// just before the handler, with the instance and the intent: a panic
	// in it is the handler's panic (the supervisor decides, the committed
	// state stays), it may delay, and when it returns true the intent is
	// dropped, as a message lost on its way: not handled and not answered
	// (the caller's deadline answers it). For fault injection in chaos
	// tests (see supervision/fault); it must be safe for concurrent use.
	Intercept func(kind, identity string, env *intent.Envelope) (drop bool)
	// Admit, when set, is asked before an instance is activated; an error
	// refuses the activation and the intent is answered with an error
	// wrapping intent.ErrNotApplied (nothing ran: safe to retry
	// elsewhere). A cluster node admits only the instances it owns, so an
	// intent sent on a peer's stale view is not handled by a second owner.
	// It is not asked for instances already active (see Deactivate) and
	// must be safe for concurrent use. Zero: every activation is admitted.
	Admit func(kind, identity string) error
}

// Runtime is one node's reactor runtime: the Proto.Actor system with its
// capability catalog, intent type registry, plugins and reactor kinds.
// All methods are safe for concurrent use.
type Runtime struct {
	name     string
	clock    func() time.Time
	cfg      Config
	log      *slog.Logger
	system   *protoactor.ActorSystem
	ownSys   bool
	catalog  *capability.Catalog
	types    *intent.Registry
	plugins  intent.Plugins
	idPrefix string
	// idSeq is bumped by every sender and stats by every reactor: keep them
	// on separate cache lines so senders and reactors do not contend.
	_     [64]byte
	idSeq atomic.Uint64
	_     [64]byte
	stats counters
	_     [64]byte

	kindsMu sync.Mutex // serialises writers of kinds
	kinds   atomic.Pointer[map[string]*kind]

	instances  sync.WaitGroup // one per live reactor instance
	dispatcher protoactor.Dispatcher
	effects    effectRunner

	stopping atomic.Bool
	stopOnce sync.Once
}

// defaultThroughput is how many messages a mailbox handles before yielding.
const defaultThroughput = 300

// ErrStopped is returned by a runtime that is stopping or stopped.
var ErrStopped = fmt.Errorf("%w: runtime stopped", intent.ErrUnavailable)

// NewRuntime starts a runtime.
func NewRuntime(cfg Config) (*Runtime, error) {
	if cfg.Name == "" {
		cfg.Name = "local"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = defaultCommitTimeout
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.EffectTimeout == 0 {
		cfg.EffectTimeout = 30 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.RequestTimeout < 0 || cfg.EffectTimeout < 0 || cfg.StopTimeout < 0 {
		return nil, errors.New("actor: negative timeout in Config")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Supervisor == nil {
		cfg.Supervisor = protoactor.NewOneForOneStrategy(10, 10*time.Second, protoactor.DefaultDecider)
	}
	rt := &Runtime{name: cfg.Name, clock: cfg.Clock, cfg: cfg, log: cfg.Logger, system: cfg.System}
	if rt.system == nil {
		logger := cfg.Logger
		rt.system = protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger { return logger }))
		rt.ownSys = true
	}
	rt.catalog = capability.NewCatalog()
	rt.types = intent.NewRegistry(rt.catalog)
	empty := map[string]*kind{}
	rt.kinds.Store(&empty)
	var b [6]byte
	_, _ = rand.Read(b[:])
	rt.idPrefix = hex.EncodeToString(b[:]) + "-"
	rt.effects.start(rt)
	rt.dispatcher = cfg.Dispatcher
	if rt.dispatcher == nil {
		rt.dispatcher = protoactor.NewDefaultDispatcher(defaultThroughput)
	}
	return rt, nil
}

// Name is the node name used in traces.
func (rt *Runtime) Name() string { return rt.name }

// System is the underlying Proto.Actor system.
func (rt *Runtime) System() *protoactor.ActorSystem { return rt.system }

// Catalog is the node's capability schemas.
func (rt *Runtime) Catalog() *capability.Catalog { return rt.catalog }

// Types is the node's intent type registry.
func (rt *Runtime) Types() *intent.Registry { return rt.types }

// Plugins are the validation and transformation plugins every intent
// entering through this runtime passes.
func (rt *Runtime) Plugins() *intent.Plugins { return &rt.plugins }

// Stats returns the runtime's counters.
func (rt *Runtime) Stats() Stats { return rt.stats.snapshot() }

func (rt *Runtime) now() time.Time { return rt.clock() }

// DefineSchema parses and defines a capability schema in the catalog; a
// shorthand for capability.NewSchema and Catalog().Define.
func (rt *Runtime) DefineSchema(domain string, ops []string, implications ...capability.Implication) error {
	s, err := capability.NewSchema(domain, ops, implications...)
	if err != nil {
		return err
	}
	return rt.catalog.Define(s)
}

// NewContext returns a context for principal holding the given grants
// (capability strings). It is the in-process entry point: the embedding
// service vouches for the principal, as an authenticated HTTP caller or a
// verified token would elsewhere.
func (rt *Runtime) NewContext(principal string, grants ...string) (*intent.Context, error) {
	gs := make([]capability.Grant, 0, len(grants))
	for _, s := range grants {
		c, err := capability.Parse(s)
		if err != nil {
			return nil, err
		}
		gs = append(gs, capability.Grant{Capability: c})
	}
	set, err := rt.catalog.Grants(gs...)
	if err != nil {
		return nil, err
	}
	return &intent.Context{Principal: principal, RequestID: intent.NewRequestID(), Grants: set}, nil
}

// Subscribe calls fn for every event the runtime publishes, on the
// publishing goroutine: fn must be fast and must not block. The returned
// function unsubscribes.
func (rt *Runtime) Subscribe(fn func(Event)) (unsubscribe func()) {
	sub := rt.system.EventStream.Subscribe(func(m any) {
		if e, ok := m.(Event); ok {
			fn(e)
		}
	})
	return func() { rt.system.EventStream.Unsubscribe(sub) }
}

func (rt *Runtime) publish(e Event) { rt.system.EventStream.Publish(e) }

// idBytes holds an intent id: a 12-hex-digit runtime prefix, a dash and a
// 16-hex-digit sequence number.
const idBytes = 29

// writeID formats the next intent id into buf and returns it as a string
// sharing buf's memory, so the id costs no allocation of its own. buf must
// not change afterwards.
func (rt *Runtime) writeID(buf *[idBytes]byte) string {
	const hexDigits = "0123456789abcdef"
	n := copy(buf[:], rt.idPrefix)
	seq := rt.idSeq.Add(1)
	for i := idBytes - 1; i >= n; i-- {
		buf[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
	return unsafe.String(&buf[0], idBytes)
}

// Register adds reactor kinds. A kind name may be registered once.
func (rt *Runtime) Register(defs ...Definition) error {
	rt.kindsMu.Lock()
	defer rt.kindsMu.Unlock()
	old := *rt.kinds.Load()
	next := make(map[string]*kind, len(old)+len(defs))
	for k, v := range old {
		next[k] = v
	}
	for _, d := range defs {
		spec, err := d.definition()
		if err != nil {
			return err
		}
		if _, dup := next[spec.name]; dup {
			return fmt.Errorf("%w: reactor kind %q", intent.ErrDuplicate, spec.name)
		}
		next[spec.name] = &kind{kindSpec: *spec, strategy: &reportingStrategy{rt: rt, inner: rt.cfg.Supervisor}}
	}
	rt.kinds.Store(&next)
	return nil
}

// Kinds lists the registered reactor kinds, sorted.
func (rt *Runtime) Kinds() []string {
	m := *rt.kinds.Load()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// KindHandles reports the intent types a registered kind handles, sorted.
func (rt *Runtime) KindHandles(name string) ([]string, error) {
	k, err := rt.kind(name)
	if err != nil {
		return nil, err
	}
	types := make([]string, 0, len(k.handles))
	for t := range k.handles {
		types = append(types, t)
	}
	sort.Strings(types)
	return types, nil
}

func (rt *Runtime) kind(name string) (*kind, error) {
	if k, ok := (*rt.kinds.Load())[name]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: reactor kind %q", intent.ErrNotFound, name)
}

// Stop stops every reactor instance and effect, waiting up to
// Config.StopTimeout, then shuts down the actor system if the runtime
// created it. Intents sent after Stop began fail with ErrStopped.
func (rt *Runtime) Stop() error {
	var err error
	rt.stopOnce.Do(func() {
		rt.stopping.Store(true)
		for _, k := range *rt.kinds.Load() {
			k.active.Range(func(_, v any) bool {
				rt.system.Root.Stop(v.(*activation).pid)
				return true
			})
		}
		deadline := time.Now().Add(rt.cfg.StopTimeout)
		if !wait.Group(&rt.instances, time.Until(deadline)) {
			err = errors.New("actor: reactors did not stop within the stop timeout")
		}
		if !rt.effects.stop(time.Until(deadline)) && err == nil {
			err = errors.New("actor: effects did not finish within the stop timeout")
		}
		if rt.ownSys {
			rt.system.Shutdown()
		}
	})
	return err
}
