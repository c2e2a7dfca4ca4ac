package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/packetflow/packetflow/store"
)

// Defaults for the zero fields of Options.
const (
	DefaultHistory     = 16
	DefaultMaxAttempts = 32
)

// Options adjusts a Config. The zero Options works: no initial values
// beyond the defaults, 16 kept versions, no polling.
type Options struct {
	// Initial are the values (by dotted key, templates allowed) of the
	// first version, which New writes when the store holds no
	// configuration for the component. When it holds one, Initial is
	// ignored: a member that joins adopts what the others wrote. Zero:
	// the schema's defaults only.
	Initial map[string]any
	// History is how many versions are kept, the current one included;
	// Rollback reaches only those. Zero: DefaultHistory.
	History int
	// PollInterval, when positive, makes the Config reload the store at
	// this interval, so that versions other members commit reach Current
	// and the watchers without a call to Refresh. Zero: no polling.
	PollInterval time.Duration
	// MaxAttempts bounds the compare-and-commit attempts of one write
	// while other members keep committing first; the write then fails
	// with an error matching store.ErrConflict. Zero: DefaultMaxAttempts.
	MaxAttempts int
	// LookupEnv resolves ${ENV:NAME} templates. Zero: os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Logger receives failed polls and watcher panics. Zero: warnings and
	// errors to standard error.
	Logger *slog.Logger
}

// Config is one component's configuration: a schema, the current version
// and a bounded history, kept in a store.Store that other members may
// share. Reads (Current, Get, History) are served from this member's copy;
// writes (Update, Rollback, Import, SetSchema) are validated and then
// committed to the store with compare-and-commit, so that the versions of
// all members sharing the store form one history. Safe for concurrent use.
type Config struct {
	name        string
	key         store.Key
	store       store.Store
	history     int
	maxAttempts int
	lookupEnv   func(string) (string, bool)
	log         *slog.Logger
	stopPoll    context.CancelFunc
	wg          sync.WaitGroup // the poller and the watchers

	// writeMu serialises this member's writes, so that each validates
	// under the schema it commits under.
	writeMu sync.Mutex
	schema  *compiled

	// mu guards state, watchers, nextWatcher and closed, and orders the
	// changes queued to watchers.
	mu          sync.Mutex
	state       *state
	watchers    map[uint64]*watcher
	nextWatcher uint64
	closed      bool
}

// New returns the configuration of the component name kept in st under
// the key (StoreKind, name). When st holds none, New commits version 1
// from opts.Initial and the schema's defaults. When it holds one (written
// by another member or an earlier run), New adopts it after checking it
// against schema as SetSchema would: a stored configuration that schema
// refuses is an error naming the fields, and defaults that schema adds are
// committed as a new version. ctx bounds New's store calls.
func New(ctx context.Context, st store.Store, name string, schema Schema, opts Options) (*Config, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	if name == "" || len(name) > store.MaxIdentityLen {
		return nil, fmt.Errorf("%w: component name must be 1 to %d bytes", ErrInvalid, store.MaxIdentityLen)
	}
	if opts.History < 0 || opts.PollInterval < 0 || opts.MaxAttempts < 0 {
		return nil, fmt.Errorf("%w: negative History, PollInterval or MaxAttempts in Options", ErrInvalid)
	}
	cs, err := schema.compile()
	if err != nil {
		return nil, err
	}
	c := &Config{
		name: name, key: store.Key{Kind: StoreKind, Identity: name}, store: st,
		history: orDefault(opts.History, DefaultHistory), maxAttempts: orDefault(opts.MaxAttempts, DefaultMaxAttempts),
		lookupEnv: opts.LookupEnv, log: opts.Logger, schema: cs,
		state: &state{}, watchers: map[uint64]*watcher{},
	}
	if c.lookupEnv == nil {
		c.lookupEnv = os.LookupEnv
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	initial, err := expandChanges(opts.Initial, c.lookupEnv)
	if err != nil {
		return nil, err
	}
	if _, err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	c.writeMu.Lock()
	_, err = c.commit(ctx, func(cur *state) (*version, error) {
		if cur.current() == nil {
			vals, err := cs.validate(initial)
			if err != nil {
				return nil, err
			}
			return &version{values: vals, cause: CauseInit}, nil
		}
		return migrate(cs, cur)
	})
	c.writeMu.Unlock()
	if err != nil {
		return nil, err
	}
	if opts.PollInterval > 0 {
		var pollCtx context.Context
		pollCtx, c.stopPoll = context.WithCancel(context.Background())
		c.wg.Add(1)
		go c.poll(pollCtx, opts.PollInterval)
	}
	return c, nil
}

// orDefault is v, or def when v is zero.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Name is the component's name.
func (c *Config) Name() string { return c.name }

// Current returns this member's latest known version.
func (c *Config) Current() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{v: c.state.current()}
}

// Get returns key's value in the current version; see Snapshot.Get. A
// missing key is an error matching ErrNotFound.
func (c *Config) Get(key string) (any, error) { return c.Current().Get(key) }

// History returns the kept versions, oldest first; the last is Current.
func (c *Config) History() []Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Snapshot, len(c.state.versions))
	for i, v := range c.state.versions {
		out[i] = Snapshot{v: v}
	}
	return out
}

// Export returns the current version as JSON; see Snapshot.MarshalJSON.
func (c *Config) Export() ([]byte, error) { return c.Current().MarshalJSON() }

// Update applies changes (values by dotted key, templates allowed; a nil
// value unsets the key, which brings back its default) to the current
// version and commits the result as a new version, which it returns. The
// result is validated as a whole first: an invalid one is an error naming
// every field at fault, and nothing changes. When another member commits
// first, Update reloads and applies changes again to the newer version,
// validating again.
func (c *Config) Update(ctx context.Context, changes map[string]any) (Snapshot, error) {
	if len(changes) == 0 {
		return Snapshot{}, fmt.Errorf("%w: update with no changes", ErrInvalid)
	}
	expanded, err := expandChanges(changes, c.lookupEnv)
	if err != nil {
		return Snapshot{}, err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.commit(ctx, func(cur *state) (*version, error) {
		merged := maps.Clone(cur.current().values)
		for k, v := range expanded {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
		vals, err := c.schema.validate(merged)
		if err != nil {
			return nil, err
		}
		return &version{values: vals, cause: CauseUpdate}, nil
	})
}

// Rollback commits the values of kept version n as a new version (Cause
// CauseRollback, RestoredFrom n), after validating them against the
// current schema. A version that history no longer keeps, or never had,
// is an error matching ErrNotFound.
func (c *Config) Rollback(ctx context.Context, n uint64) (Snapshot, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.commit(ctx, func(cur *state) (*version, error) {
		old := cur.find(n)
		if old == nil {
			return nil, fmt.Errorf("%w: version %d is not kept (kept: %d to %d)",
				ErrNotFound, n, cur.versions[0].number, cur.number())
		}
		vals, err := c.schema.validate(old.values)
		if err != nil {
			return nil, fmt.Errorf("config: version %d is invalid under the current schema: %w", n, err)
		}
		return &version{values: vals, cause: CauseRollback, restoredFrom: n}, nil
	})
}

// Import replaces the whole configuration with the JSON document data, in
// the form Export writes (nested objects, durations as strings; templates
// allowed), as a new version. Malformed JSON, unknown keys, wrong types
// and invalid values are errors matching ErrInvalid that say what is
// wrong and where; nothing changes then.
func (c *Config) Import(ctx context.Context, data []byte) (Snapshot, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	raw, err := decodeJSON(data, c.schema)
	if err != nil {
		return Snapshot{}, err
	}
	expanded, err := expandChanges(raw, c.lookupEnv)
	if err != nil {
		return Snapshot{}, err
	}
	vals, err := c.schema.validate(expanded)
	if err != nil {
		return Snapshot{}, err
	}
	return c.commit(ctx, func(*state) (*version, error) {
		return &version{values: vals, cause: CauseImport}, nil
	})
}

// SetSchema replaces this member's schema. It is refused, with an error
// naming the fields at fault, when the current version would be invalid
// under the new schema; nothing changes then. When the new schema only
// adds defaults, they are committed as a new version (Cause CauseSchema).
// The schema is code, not replicated data: every member should run with
// the same one.
func (c *Config) SetSchema(ctx context.Context, schema Schema) error {
	cs, err := schema.compile()
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.commit(ctx, func(cur *state) (*version, error) { return migrate(cs, cur) }); err != nil {
		return err
	}
	c.schema = cs
	return nil
}

// migrate checks cur's current version against cs: an error if cs refuses
// it, nil if cs accepts it as it is, or the version cs's defaults make.
func migrate(cs *compiled, cur *state) (*version, error) {
	now := cur.current()
	vals, err := cs.validate(now.values)
	if err != nil {
		return nil, fmt.Errorf("config: schema refused: version %d would be invalid under it: %w", now.number, err)
	}
	if (Snapshot{v: now}).SameValues(Snapshot{v: &version{values: vals}}) {
		return nil, nil
	}
	return &version{values: vals, cause: CauseSchema}, nil
}

// commit writes the version build makes from the latest state, as that
// state's successor, with compare-and-commit. When another member
// committed first, it reloads, builds again from the newer state and
// retries, at most c.maxAttempts times. build may return an error (nothing
// is written) or a nil version (nothing to write: commit returns the
// current version). c.writeMu must be held.
func (c *Config) commit(ctx context.Context, build func(cur *state) (*version, error)) (Snapshot, error) {
	c.mu.Lock()
	cur, closed := c.state, c.closed
	c.mu.Unlock()
	if closed {
		return Snapshot{}, ErrClosed
	}
	for attempt := 1; ; attempt++ {
		v, err := build(cur)
		if err != nil {
			return Snapshot{}, err
		}
		if v == nil {
			return Snapshot{v: cur.current()}, nil
		}
		v.number, v.time = cur.number()+1, time.Now().Round(0) // wall clock only, as members read it back
		if v.enc, err = v.encode(); err != nil {
			return Snapshot{}, err
		}
		next := cur.with(v, c.history)
		rec := store.Record{Type: stateType, Schema: stateFormat, Data: next.encode()}
		_, err = c.store.Commit(ctx, c.key, cur.number(), rec)
		if err == nil {
			c.adopt(next)
			return Snapshot{v: v}, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Snapshot{}, fmt.Errorf("config %s: commit version %d: %w", c.name, v.number, err)
		}
		if attempt >= c.maxAttempts {
			return Snapshot{}, fmt.Errorf("config %s: gave up after %d attempts while other members kept committing first: %w",
				c.name, attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Snapshot{}, fmt.Errorf("config %s: %w", c.name, err)
		}
		if cur, err = c.load(ctx); err != nil {
			return Snapshot{}, err
		}
	}
}

// backoff waits a random while that grows with attempt, so that members
// contending for the same record do not retry in lockstep.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(attempt)*int64(100*time.Microsecond) + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close stops polling and the watchers (notifications not yet delivered
// are dropped) and waits for them; it must not be called from a watcher.
// Later writes and Refresh return ErrClosed; reads keep returning the
// last known versions. Close does not close the store.
func (c *Config) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	for id, w := range c.watchers {
		w.stop()
		delete(c.watchers, id)
	}
	c.mu.Unlock()
	if c.stopPoll != nil {
		c.stopPoll()
	}
	c.wg.Wait()
	return nil
}
