package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
)

// ErrNotCommitted: a handler ran but its new state was not committed (the
// store refused or could not take the write, or another activation of the
// instance committed first).
// Nothing changed, no effect ran, and the instance is back at its last
// committed state, so the intent may be sent again without being applied
// twice. It wraps intent.ErrNotApplied.
var ErrNotCommitted = fmt.Errorf("%w: state not committed", intent.ErrNotApplied)

// ErrRecovery: an instance's committed state exists but cannot be turned
// back into its state (another state type, a newer schema, an older one
// without a migration, undecodable data). The instance serves nothing until
// that is fixed; it never starts from a zero state instead. It wraps
// intent.ErrFailed.
var ErrRecovery = fmt.Errorf("%w: state cannot be recovered", intent.ErrFailed)

// persistence says how a reactor's state is stored: as a protobuf message
// named typeName, at a schema version. Persist builds it.
type persistence[S any] struct {
	typeName string
	schema   uint32
	encode   func(S) (proto.Message, error)
	decode   func(schema uint32, data []byte) (S, error)
}

// Persist makes r's state durable when the runtime has a store
// (Config.Store): each handler's new state is encoded as a P and committed
// before the reply leaves (a handler that leaves the encoding unchanged, a
// read, writes nothing); an activation recovers the last committed state.
//
// Writes are fenced (a commit based on a stale version is refused with
// ErrNotCommitted and the activation reloads), reads are not: while two
// members briefly both hold an activation of an instance, the stale one
// may answer a read from its last state.
//
// schema is the version of the state's encoding. A record of an older
// schema is passed to migrate (nil: such records are refused with
// ErrRecovery); a record of a newer schema, or of another message type, is
// always refused. Without a store the reactor keeps its state in memory, as
// one without Persist does.
func Persist[S any, P proto.Message](r *Reactor[S], schema uint32, encode func(S) P, decode func(P) (S, error), migrate func(schema uint32, old P) (S, error)) *Reactor[S] {
	var zero P
	desc := zero.ProtoReflect().Descriptor()
	mt := zero.ProtoReflect().Type()
	name := string(desc.FullName())
	if r.persist != nil {
		r.errs = append(r.errs, fmt.Errorf("actor: reactor %q declares Persist twice", r.kind))
		return r
	}
	if encode == nil || decode == nil {
		r.errs = append(r.errs, fmt.Errorf("actor: reactor %q: Persist needs encode and decode", r.kind))
		return r
	}
	r.persist = &persistence[S]{
		typeName: name,
		schema:   schema,
		encode: func(s S) (proto.Message, error) {
			p := encode(s)
			if !p.ProtoReflect().IsValid() {
				return nil, fmt.Errorf("encode returned a nil %s", name)
			}
			return p, nil
		},
		decode: func(from uint32, data []byte) (S, error) {
			var s S
			m := mt.New().Interface().(P)
			if err := proto.Unmarshal(data, m); err != nil {
				return s, fmt.Errorf("decoding %s: %w", name, err)
			}
			switch {
			case from == schema:
				return decode(m)
			case from > schema:
				return s, fmt.Errorf("the record has state schema %d, newer than this reactor's %d", from, schema)
			case migrate == nil:
				return s, fmt.Errorf("the record has state schema %d, older than this reactor's %d, and the reactor has no migration", from, schema)
			}
			return migrate(from, m)
		},
	}
	return r
}

// durableCell is the committed-state side of a cell when the runtime has a
// store: whether it was loaded, and at which version.
type durableCell struct {
	loaded  bool
	version uint64
	data    []byte // the committed encoding (when encoded), to skip commits that change nothing
	encoded bool   // data is valid (an empty message encodes to no bytes)
}

// recover loads the committed state of (kind, identity) into c, once.
func (p *persistence[S]) recover(ctx context.Context, st store.Store, kind, identity string, c *cell[S]) error {
	rec, err := st.Load(ctx, store.Key{Kind: kind, Identity: identity})
	if err != nil {
		return fmt.Errorf("%w: loading %s/%s: %w", ErrNotCommitted, kind, identity, err)
	}
	if rec.Version == 0 {
		// Nothing committed: the instance starts from its initial state,
		// and a handler that leaves it so writes nothing.
		c.durable = durableCell{loaded: true}
		if m, err := p.encode(c.state); err == nil {
			if data, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err == nil {
				c.durable.data, c.durable.encoded = data, true
			}
		}
		return nil
	}
	if rec.Type != p.typeName {
		return fmt.Errorf("%w: %s/%s is stored as a %s, not a %s", ErrRecovery, kind, identity, rec.Type, p.typeName)
	}
	s, err := p.decode(rec.Schema, rec.Data)
	if err != nil {
		return fmt.Errorf("%w: %s/%s version %d: %w", ErrRecovery, kind, identity, rec.Version, err)
	}
	c.state = s
	c.durable = durableCell{loaded: true, version: rec.Version, data: rec.Data, encoded: true}
	return nil
}

// errStale: a read (a handler that changed nothing) ran on a state older
// than the committed one (another activation committed since); the
// instance reloads and handles the intent again.
var errStale = errors.New("actor: stale state")

// commit stores next as the state after c's committed version. With fence,
// a handler that changed nothing checks that c's version is still the
// committed one and returns errStale (and forgets the loaded state) when it
// is not, so that no reply is computed from a stale state.
func (p *persistence[S]) commit(ctx context.Context, st store.Store, kind, identity string, c *cell[S], next S, fence bool) error {
	m, err := p.encode(next)
	if err != nil {
		return fmt.Errorf("%w: encoding the state of %s/%s: %w", ErrNotCommitted, kind, identity, err)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("%w: encoding the state of %s/%s: %w", ErrNotCommitted, kind, identity, err)
	}
	if c.durable.encoded && bytes.Equal(data, c.durable.data) {
		// Nothing changed (a read): no write, no fsync.
		if fence {
			rec, err := st.Load(ctx, store.Key{Kind: kind, Identity: identity})
			if err != nil {
				return fmt.Errorf("%w: checking that %s/%s is current: %w", ErrNotCommitted, kind, identity, err)
			}
			if rec.Version != c.durable.version {
				c.durable = durableCell{}
				return errStale
			}
		}
		c.state = next
		return nil
	}
	v, err := st.Commit(ctx, store.Key{Kind: kind, Identity: identity}, c.durable.version,
		store.Record{Type: p.typeName, Schema: p.schema, Data: data})
	if err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			// Another activation committed meanwhile: this one is stale
			// and reloads before its next intent.
			c.durable = durableCell{}
		case errors.Is(err, store.ErrFailed):
			// The write may have reached the disk: the outcome is
			// unknown, so it must not be retried as "not applied". The
			// instance reloads before its next intent.
			c.durable = durableCell{}
			return fmt.Errorf("%w: committing the state of %s/%s failed and may have been applied (outcome unknown): %w", intent.ErrUnavailable, kind, identity, err)
		}
		return fmt.Errorf("%w: %s/%s: %w", ErrNotCommitted, kind, identity, err)
	}
	c.state = next
	c.durable.version, c.durable.data, c.durable.encoded = v, data, true
	return nil
}

// storeContext bounds one store operation.
func (rt *Runtime) storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), rt.cfg.CommitTimeout)
}

// defaultCommitTimeout is Config.CommitTimeout's zero meaning.
const defaultCommitTimeout = 10 * time.Second
