package temporal_test

import (
	"context"
	"sync/atomic"

	"github.com/packetflow/packetflow/store"
)

// flakyStore fails every call with ErrUnavailable while fail is set.
type flakyStore struct {
	store.Store
	fail atomic.Bool
}

func (s *flakyStore) Load(ctx context.Context, key store.Key) (store.Record, error) {
	if s.fail.Load() {
		return store.Record{}, store.ErrUnavailable
	}
	return s.Store.Load(ctx, key)
}

func (s *flakyStore) Commit(ctx context.Context, key store.Key, expected uint64, rec store.Record) (uint64, error) {
	if s.fail.Load() {
		return 0, store.ErrUnavailable
	}
	return s.Store.Commit(ctx, key, expected, rec)
}
