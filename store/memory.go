package store

import (
	"context"
	"sync"
)

// Memory is a Store that keeps records in the process. It is NOT durable:
// every record is lost when the process exits. It is for tests and for
// nodes without a data directory, where it gives reactors the same commit
// semantics (versions, conflicts, errors) as a durable store.
type Memory struct {
	// mu guards closed and records.
	mu      sync.Mutex
	closed  bool
	records map[Key]Record
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-process store.
func NewMemory() *Memory { return &Memory{records: make(map[Key]Record)} }

// Load returns key's committed record, or a Record with Version 0 when none.
// The returned Data is the caller's to keep.
func (m *Memory) Load(ctx context.Context, key Key) (Record, error) {
	if err := checkCall(ctx, "load", key); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Record{}, ErrClosed
	}
	rec := m.records[key]
	rec.Data = cloneData(rec.Data)
	return rec, nil
}

// Commit stores a copy of rec as version expected+1 if key's committed
// version is expected; see Store.
func (m *Memory) Commit(ctx context.Context, key Key, expected uint64, rec Record) (uint64, error) {
	if err := checkCall(ctx, "commit", key); err != nil {
		return 0, err
	}
	if err := checkRecord(key, expected, rec); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	if cur := m.records[key].Version; cur != expected {
		return 0, &ConflictError{Key: key, Expected: expected, Committed: cur}
	}
	rec.Version = expected + 1
	rec.Data = cloneData(rec.Data)
	m.records[key] = rec
	return rec.Version, nil
}

// Close drops every record; later calls return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.records = nil
	return nil
}
