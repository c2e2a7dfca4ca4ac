package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The layout of a store's file: a bucket metaBucket whose formatKey says
// the file is a PacketFlow state store of format formatV1, and a bucket
// stateBucket holding one nested bucket per reactor kind (named by the
// kind), which maps each identity to its storepb.StoredRecord. Nested
// buckets keep kinds apart without a key encoding (kind "a", identity "b/c"
// and kind "a/b", identity "c" cannot collide) and make a kind's instances
// one cursor scan.
var (
	metaBucket  = []byte("packetflow")
	formatKey   = []byte("format")
	formatV1    = []byte("packetflow.store.v1")
	stateBucket = []byte("state")
)

// BoltOptions configures OpenBolt. The zero value is a durable store with
// the defaults below.
type BoltOptions struct {
	// Timeout is how long OpenBolt waits for the file's lock while another
	// process (or another *Bolt in this one) has the file open, before it
	// fails with ErrLocked. Zero: DefaultLockTimeout.
	Timeout time.Duration
	// MaxBatchDelay is how long the first Commit of a transaction waits for
	// others to join it. Zero: it does not wait. Commits that arrive while a
	// transaction is being written always join the next one, so a lone
	// Commit costs one fsync, and concurrent ones share fsyncs without
	// waiting for a timer.
	MaxBatchDelay time.Duration
	// MaxBatchSize caps the Commits that share one transaction. Zero:
	// DefaultMaxBatchSize.
	MaxBatchSize int
	// NoSync skips fsync: Commit returns before the record is durable and a
	// crash of the machine can lose or damage the file. For benchmarks only.
	NoSync bool
	// SkipVerify skips reading the whole file when it is opened (every
	// record's checksum and bbolt's page consistency check), which costs
	// time proportional to the file's size. Without the check a damaged
	// record is still found, but only when it is loaded or committed.
	SkipVerify bool
}

// Defaults for the zero fields of BoltOptions.
const (
	DefaultLockTimeout  = 2 * time.Second
	DefaultMaxBatchSize = 1000
)

func (o BoltOptions) withDefaults() (BoltOptions, error) {
	if o.Timeout < 0 || o.MaxBatchDelay < 0 || o.MaxBatchSize < 0 {
		return o, fmt.Errorf("%w: OpenBolt: negative option in %+v", ErrInvalid, o)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultLockTimeout
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = DefaultMaxBatchSize
	}
	return o, nil
}

// OpenBolt opens the store in the file path, creating it if there is no
// such file (its directory must exist). The file is locked while the store
// is open: a second OpenBolt of it, from any process, fails with an error
// wrapping ErrLocked after opts.Timeout.
//
// An existing file is checked before it is used, and never reset: a file
// that is not a bbolt database, is another program's bbolt database, is
// truncated or (unless opts.SkipVerify) holds a damaged page or record
// makes OpenBolt fail with an error wrapping ErrCorrupt that names it.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: OpenBolt: empty path", ErrInvalid)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := createBolt(path, opts); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrCorrupt, path, info.Mode().Type())
	case info.Size() == 0:
		return nil, fmt.Errorf("%w: %s is empty, which a store's file never is (truncated?); "+
			"it is left as it is: remove it only if it never held a store", ErrCorrupt, path)
	}
	db, err := openBoltDB(path, opts)
	if err != nil {
		return nil, err
	}
	b := newBolt(path, db, opts)
	if err := b.verify(!opts.SkipVerify); err != nil {
		_ = db.Close()
		return nil, err
	}
	go b.run()
	return b, nil
}

// createBolt makes path a new, empty store. The file is initialised under
// a temporary name and then linked to path, so path never names a file
// that is half made (a crash leaves at most the temporary file behind) and
// a file that another process created meanwhile is kept.
func createBolt(path string, opts BoltOptions) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, base+".new-*")
	if err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	tmp := f.Name()
	_ = f.Close()
	defer func() { _ = os.Remove(tmp) }()
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put(formatKey, formatV1); err != nil {
			return err
		}
		_, err = tx.CreateBucket(stateBucket)
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: syncing %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", dir, err)
	}
	return nil
}

// openFile opens a store's file; tests replace it to break the file.
var openFile = os.OpenFile

// openBoltDB opens path, which exists, with bbolt. bbolt panics (or, on
// a truncated file, faults) on some damage; both become errors wrapping
// ErrCorrupt here.
func openBoltDB(path string, opts BoltOptions) (db *bolt.DB, err error) {
	var file *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				_ = file.Close() // also releases the lock
			}
			db, err = nil, fmt.Errorf("%w: %s is damaged or truncated: bbolt failed reading it: %v", ErrCorrupt, path, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.Timeout,
		NoSync:  opts.NoSync,
		OpenFile: func(name string, flag int, perm fs.FileMode) (*os.File, error) {
			// Never create the file here: OpenBolt saw it exist.
			f, err := openFile(name, flag&^os.O_CREATE, perm)
			file = f
			return f, err
		},
	})
	if err == nil {
		return db, nil
	}
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s is in use by another process (or another store in this one): "+
			"its lock was not released within %v", ErrLocked, path, opts.Timeout)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	default: // bbolt's ErrInvalid, ErrChecksum, ErrVersionMismatch, "file size too small"
		return nil, fmt.Errorf("%w: %s is not a bbolt database, or its header is damaged: %w", ErrCorrupt, path, err)
	}
}

// verify checks that the open file is a whole store of the format this
// build reads and, when full, that every page and record is intact.
func (b *Bolt) verify(full bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s is damaged or truncated: bbolt failed reading it: %v", ErrCorrupt, b.path, p)
		}
	}()
	return b.db.View(func(tx *bolt.Tx) error {
		info, err := os.Stat(b.path)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if need := tx.Size(); info.Size() < need {
			return fmt.Errorf("%w: %s is truncated: it has %d bytes, its pages need %d", ErrCorrupt, b.path, info.Size(), need)
		}
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return fmt.Errorf("%w: %s is a bbolt database but not a PacketFlow state store (it has no %q bucket)",
				ErrCorrupt, b.path, metaBucket)
		}
		if format := meta.Get(formatKey); !bytes.Equal(format, formatV1) {
			return fmt.Errorf("%w: %s has store format %q; this build reads %q", ErrCorrupt, b.path, format, formatV1)
		}
		states := tx.Bucket(stateBucket)
		if states == nil {
			return fmt.Errorf("%w: %s has no %q bucket", ErrCorrupt, b.path, stateBucket)
		}
		if !full {
			return nil
		}
		// Every record first, in this goroutine, where a fault on a
		// damaged page is an error; then bbolt's page check (its own
		// goroutine) finds nothing unmapped on the records' pages.
		if err := b.verifyRecords(states); err != nil {
			return err
		}
		var problems []string
		for err := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%w: %s fails bbolt's consistency check: %s", ErrCorrupt, b.path, strings.Join(problems, "; "))
		}
		return nil
	})
}

// verifyRecords decodes every record under states.
func (b *Bolt) verifyRecords(states *bolt.Bucket) error {
	return states.ForEach(func(kind, v []byte) error {
		if v != nil {
			return fmt.Errorf("%w: %s: bucket %q holds a value under %q, not a kind's bucket", ErrCorrupt, b.path, stateBucket, kind)
		}
		return states.Bucket(kind).ForEach(func(id, v []byte) error {
			key := Key{Kind: string(kind), Identity: string(id)}
			if v == nil {
				return b.corrupt(key, errors.New("a bucket, not a record"))
			}
			if _, err := decodeRecord(key, v); err != nil {
				return b.corrupt(key, err)
			}
			return nil
		})
	})
}

// corrupt is the error for key's damaged record.
func (b *Bolt) corrupt(key Key, problem error) error {
	return fmt.Errorf("%w: %s: record %s: %w", ErrCorrupt, b.path, key, problem)
}
