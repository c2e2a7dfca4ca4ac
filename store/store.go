package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Key names one reactor instance.
type Key struct{ Kind, Identity string }

// String is "kind/identity", for messages.
func (k Key) String() string { return k.Kind + "/" + k.Identity }

// Record is the committed state of one reactor instance.
type Record struct {
	Version uint64 // 0 means nothing committed yet; the first commit makes it 1
	Type    string // full protobuf name of the state message
	Schema  uint32 // the reactor's state schema version at commit time
	Data    []byte // the marshalled state message
}

// Store keeps the committed state of reactor instances. Safe for concurrent use.
type Store interface {
	// Load returns key's committed record, or a Record with Version 0 when none.
	Load(ctx context.Context, key Key) (Record, error)
	// Commit stores rec (its Version field is ignored) as version expected+1 if key's
	// committed version is expected, and returns the new version once the write is
	// durable. Otherwise it returns an error wrapping ErrConflict naming both versions,
	// and changes nothing.
	Commit(ctx context.Context, key Key, expected uint64, rec Record) (uint64, error)
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

var (
	// ErrConflict: a Commit's expected version is not the committed one
	// (another writer committed first). Nothing changed; the error is a
	// *ConflictError naming both versions.
	ErrConflict = errors.New("store: version conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt: a stored record or the store's file is damaged, or the
	// file is not a store's. The error names the file and, for a record,
	// its key. Nothing is reset or overwritten.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrInvalid: bad input (an empty or oversize kind or identity, an
	// oversize record, a nil context). Nothing changed.
	ErrInvalid = errors.New("store: invalid input")
	// ErrLocked: OpenBolt could not lock the file within BoltOptions.Timeout
	// because another process (or another *Bolt) has it open.
	ErrLocked = errors.New("store: file locked")
	// ErrFailed: a durable write failed (fsync, disk full), was not
	// acknowledged in time, or the store hit an internal fault: the failed
	// Commit's outcome is unknown (it may have been applied). A Bolt store
	// refuses later Commits until it is reopened; a replicated store goes
	// on, and a later Commit based on the old version finds out with
	// ErrConflict whether the write landed.
	ErrFailed = errors.New("store: write failed")
	// ErrUnavailable: the store cannot serve the call now (a replicated
	// store without quorum or still forming). Nothing changed; retrying
	// later is safe.
	ErrUnavailable = errors.New("store: unavailable")
)

// ConflictError is the error of a Commit whose expected version is not the
// committed one. errors.Is(err, ErrConflict) holds.
type ConflictError struct {
	Key       Key
	Expected  uint64 // the version the Commit expected
	Committed uint64 // the version that is committed
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: commit %s: version conflict: expected version %d, committed version is %d",
		e.Key, e.Expected, e.Committed)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Limits on what a Store accepts; more is refused with ErrInvalid. They
// hold for every implementation, so that state written to one store fits
// any other.
const (
	MaxKindLen     = 256      // bytes of Key.Kind
	MaxIdentityLen = 256      // bytes of Key.Identity
	MaxTypeLen     = 512      // bytes of Record.Type
	MaxDataLen     = 16 << 20 // bytes of Record.Data (16 MiB)
)

// CheckLoad validates a Load's arguments: a live context and a well-formed
// key. Every implementation calls it (or CheckCommit) first, so that all
// refuse the same input with the same errors.
func CheckLoad(ctx context.Context, key Key) error { return checkCall(ctx, "load", key) }

// CheckCommit validates a Commit's arguments.
func CheckCommit(ctx context.Context, key Key, expected uint64, rec Record) error {
	if err := checkCall(ctx, "commit", key); err != nil {
		return err
	}
	return checkRecord(key, expected, rec)
}

// checkCall validates what every Load and Commit takes: a live context and
// a well-formed key. op is "load" or "commit".
func checkCall(ctx context.Context, op string, key Key) error {
	if ctx == nil {
		return fmt.Errorf("%w: %s %s: nil context", ErrInvalid, op, key)
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("%w: %s %q/%q: %s", ErrInvalid, op, key.Kind, key.Identity, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %s: %w", op, key, err)
	}
	return nil
}

func checkKey(key Key) error {
	switch {
	case key.Kind == "":
		return errors.New("empty kind")
	case len(key.Kind) > MaxKindLen:
		return fmt.Errorf("kind is %d bytes, more than %d", len(key.Kind), MaxKindLen)
	case key.Identity == "":
		return errors.New("empty identity")
	case len(key.Identity) > MaxIdentityLen:
		return fmt.Errorf("identity is %d bytes, more than %d", len(key.Identity), MaxIdentityLen)
	}
	return nil
}

// checkRecord validates what Commit takes besides the key.
func checkRecord(key Key, expected uint64, rec Record) error {
	var problem string
	switch {
	case expected == math.MaxUint64:
		problem = "expected version is the largest there is"
	case len(rec.Type) > MaxTypeLen:
		problem = fmt.Sprintf("type is %d bytes, more than %d", len(rec.Type), MaxTypeLen)
	case !utf8.ValidString(rec.Type):
		problem = fmt.Sprintf("type %q is not valid UTF-8", rec.Type)
	case len(rec.Data) > MaxDataLen:
		problem = fmt.Sprintf("data is %d bytes, more than %d", len(rec.Data), MaxDataLen)
	default:
		return nil
	}
	return fmt.Errorf("%w: commit %s: %s", ErrInvalid, key, problem)
}

// cloneData copies b; empty data is always nil.
func cloneData(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
