package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is a durable Store in one file, on go.etcd.io/bbolt: a Commit
// returns once its record is fsync'd. Concurrent Commits share one
// transaction and one fsync (group commit): one goroutine of the store
// writes every transaction, taking all the Commits that arrived while the
// previous one was being written (see BoltOptions.MaxBatchDelay). In a
// shared transaction each Commit's version check runs in turn, so two
// Commits of one key expecting the same version still have exactly one
// winner, and a Commit that is refused (conflict, damaged record, ended
// context) fails alone: its neighbours are written.
//
// Open it with OpenBolt; the zero value is not usable.
type Bolt struct {
	path     string
	db       *bolt.DB
	maxBatch int
	delay    time.Duration

	// requests carries Commits to the committer goroutine (run), which
	// stops when stop is closed and then closes stopped.
	requests chan *commitRequest
	stop     chan struct{}
	stopped  chan struct{}

	// mu guards closed and calls.Add: calls counts the Loads and Commits
	// in progress, which Close waits for before it stops the committer.
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup

	// failed holds the error that made the store refuse Commits (set once,
	// by the committer).
	failed atomic.Pointer[error]

	commits, conflicts, transactions atomic.Uint64
}

var _ Store = (*Bolt)(nil)

// BoltStats counts what a *Bolt did since it was opened.
type BoltStats struct {
	Commits      uint64 // Commits that succeeded
	Conflicts    uint64 // Commits refused with ErrConflict
	Transactions uint64 // transactions written (each one fsync): Commits/Transactions is the mean batch
}

// commitRequest is one Commit on its way through the committer. The
// committer sets version and err and then closes done.
type commitRequest struct {
	ctx      context.Context
	key      Key
	expected uint64
	value    []byte // the encoded StoredRecord of version expected+1

	version uint64
	err     error
	settled bool // err is final: later runs of the transaction skip it
	done    chan struct{}
}

func newBolt(path string, db *bolt.DB, opts BoltOptions) *Bolt {
	return &Bolt{
		path:     path,
		db:       db,
		maxBatch: opts.MaxBatchSize,
		delay:    opts.MaxBatchDelay,
		requests: make(chan *commitRequest),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// Path is the store's file.
func (b *Bolt) Path() string { return b.path }

// Stats counts the store's commits, conflicts and transactions.
func (b *Bolt) Stats() BoltStats {
	return BoltStats{Commits: b.commits.Load(), Conflicts: b.conflicts.Load(), Transactions: b.transactions.Load()}
}

// enter registers a call in progress, unless the store is closed.
func (b *Bolt) enter() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.calls.Add(1)
	return nil
}

// Load returns key's committed record, or a Record with Version 0 when
// none. A damaged record is an error wrapping ErrCorrupt naming the file
// and key.
func (b *Bolt) Load(ctx context.Context, key Key) (rec Record, err error) {
	if err := checkCall(ctx, "load", key); err != nil {
		return Record{}, err
	}
	if err := b.enter(); err != nil {
		return Record{}, err
	}
	defer b.calls.Done()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			rec, err = Record{}, b.corrupt(key, fmt.Errorf("reading it failed: %v", p))
		}
	}()
	err = b.db.View(func(tx *bolt.Tx) error {
		states := tx.Bucket(stateBucket)
		if states == nil {
			return fmt.Errorf("%w: %s has no %q bucket", ErrCorrupt, b.path, stateBucket)
		}
		kind := states.Bucket([]byte(key.Kind))
		if kind == nil {
			return nil
		}
		v := kind.Get([]byte(key.Identity))
		if v == nil {
			return nil
		}
		var err error
		if rec, err = decodeRecord(key, v); err != nil {
			return b.corrupt(key, err)
		}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Commit stores rec as version expected+1 if key's committed version is
// expected, and returns once that is durable; see Store. If ctx ends
// before the record is written, nothing changes and the error wraps ctx's;
// once written, Commit waits for the fsync and reports its outcome.
func (b *Bolt) Commit(ctx context.Context, key Key, expected uint64, rec Record) (uint64, error) {
	if err := checkCall(ctx, "commit", key); err != nil {
		return 0, err
	}
	if err := checkRecord(key, expected, rec); err != nil {
		return 0, err
	}
	if err := b.enter(); err != nil {
		return 0, err
	}
	defer b.calls.Done()
	if err := b.failed.Load(); err != nil {
		return 0, *err
	}
	value, err := encodeRecord(key, expected+1, rec)
	if err != nil {
		return 0, fmt.Errorf("%w: commit %s: %w", ErrInvalid, key, err)
	}
	r := &commitRequest{ctx: ctx, key: key, expected: expected, value: value, done: make(chan struct{})}
	select {
	case b.requests <- r:
	case <-ctx.Done():
		return 0, fmt.Errorf("store: commit %s: %w", key, ctx.Err())
	}
	<-r.done
	return r.version, r.err
}

// Close waits for the Loads and Commits in progress, then closes the file
// and releases its lock. Later calls return ErrClosed.
func (b *Bolt) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closed = true
	b.mu.Unlock()
	b.calls.Wait()
	close(b.stop)
	<-b.stopped
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %w", b.path, err)
	}
	return nil
}

// run is the committer: it writes every transaction, one at a time.
func (b *Bolt) run() {
	defer close(b.stopped)
	// A fault on a damaged page of the mapped file is a panic (recovered
	// in update), not a crash of the process.
	debug.SetPanicOnFault(true)
	batch := make([]*commitRequest, 0, b.maxBatch)
	for {
		select {
		case <-b.stop:
			return
		case r := <-b.requests:
			batch = append(batch[:0], r)
		}
		batch = b.gather(batch)
		b.write(batch)
		clear(batch)
	}
}

// gather adds to batch the Commits that are waiting (with no delay) or
// that arrive within the delay, up to the batch size.
func (b *Bolt) gather(batch []*commitRequest) []*commitRequest {
	if b.delay <= 0 {
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.requests:
				batch = append(batch, r)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(b.delay)
	defer timer.Stop()
	for len(batch) < b.maxBatch {
		select {
		case r := <-b.requests:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// errNothingWritten rolls back a transaction in which every Commit was
// refused, saving its fsync.
var errNothingWritten = errors.New("nothing written")

// panicError is a panic (or a fault) recovered from bbolt.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprint(p.value) }

// write commits batch in one transaction and answers each of its Commits.
// A Commit whose write bbolt refuses is answered alone and the transaction
// runs again without it; a failure of the transaction itself (fsync, a
// damaged file) fails every Commit in it and the store.
func (b *Bolt) write(batch []*commitRequest) {
	if err := b.failed.Load(); err != nil {
		for _, r := range batch {
			r.err = *err
			close(r.done)
		}
		return
	}
	for {
		failedAt := -1
		err := b.update(func(tx *bolt.Tx) error {
			states := tx.Bucket(stateBucket)
			if states == nil {
				return fmt.Errorf("no %q bucket", stateBucket)
			}
			wrote := false
			for i, r := range batch {
				if r.settled {
					continue
				}
				r.version, r.err = 0, nil
				if err := b.apply(states, r); err != nil {
					failedAt = i
					return err
				}
				wrote = wrote || r.err == nil
			}
			if !wrote {
				return errNothingWritten
			}
			return nil
		})
		var p panicError
		switch {
		case err == nil:
			b.transactions.Add(1)
		case errors.Is(err, errNothingWritten):
		case failedAt >= 0 && !errors.As(err, &p):
			r := batch[failedAt]
			r.err, r.settled = b.corrupt(r.key, fmt.Errorf("writing it failed: %w", err)), true
			continue
		default:
			var ferr error
			if errors.As(err, &p) {
				ferr = fmt.Errorf("%w: %w: %s is damaged (%v); the store refuses further commits", ErrFailed, ErrCorrupt, b.path, p.value)
			} else {
				ferr = fmt.Errorf("%w: %s: %w; whether this transaction's commits are durable is unknown "+
					"until the store is reopened, and it refuses further commits", ErrFailed, b.path, err)
			}
			b.failed.CompareAndSwap(nil, &ferr)
			for _, r := range batch {
				if !r.settled {
					r.version, r.err = 0, ferr
				}
			}
		}
		break
	}
	for _, r := range batch {
		switch {
		case r.err == nil:
			b.commits.Add(1)
		case errors.Is(r.err, ErrConflict):
			b.conflicts.Add(1)
		}
		close(r.done)
	}
}

// update runs fn in a write transaction, turning a panic into an error.
func (b *Bolt) update(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return b.db.Update(fn)
}

// apply performs r in a write transaction: it answers r (in r.err) when
// the version check refuses it, and returns an error only when bbolt
// refuses the write, which undoes the whole transaction.
func (b *Bolt) apply(states *bolt.Bucket, r *commitRequest) error {
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("store: commit %s: %w", r.key, err)
		return nil
	}
	kindName, id := []byte(r.key.Kind), []byte(r.key.Identity)
	kind := states.Bucket(kindName)
	var committed uint64
	if kind != nil {
		if v := kind.Get(id); v != nil {
			cur, err := decodeRecord(r.key, v)
			if err != nil {
				r.err = b.corrupt(r.key, err)
				return nil
			}
			committed = cur.Version
		}
	}
	if committed != r.expected {
		r.err = &ConflictError{Key: r.key, Expected: r.expected, Committed: committed}
		return nil
	}
	if kind == nil {
		var err error
		if kind, err = states.CreateBucket(kindName); err != nil {
			return err
		}
	}
	if err := kind.Put(id, r.value); err != nil {
		return err
	}
	r.version = r.expected + 1
	return nil
}
