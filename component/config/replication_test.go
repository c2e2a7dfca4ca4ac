package config_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

// workerSchema has one Int field per writer, "w.00" to "w.<n-1>", default 0.
func workerSchema(n int) config.Schema {
	var s config.Schema
	for i := range n {
		s.Fields = append(s.Fields, config.Field{Key: workerKey(i), Type: config.Int, Default: 0})
	}
	return s
}

func workerKey(i int) string { return fmt.Sprintf("w.%02d", i) }

// hammer has writers goroutines on each member update their own field
// perWriter times, to 1, 2, 3 and so on. Writer g of member m owns field
// m*writers+g.
func hammer(t *testing.T, members []*config.Config, writers, perWriter int) {
	t.Helper()
	var wg sync.WaitGroup
	for m, c := range members {
		for g := range writers {
			wg.Go(func() {
				key := workerKey(m*writers + g)
				for i := 1; i <= perWriter; i++ {
					if _, err := c.Update(ctx, map[string]any{key: i}); err != nil {
						t.Errorf("%s: update %d: %v", key, i, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

// assertTotalOrder checks that history is versions 1..want with each
// version after the first changing exactly one field by +1 from the
// version before: every update applied once, none lost, one order.
func assertTotalOrder(t *testing.T, history []config.Snapshot, fields, want int) {
	t.Helper()
	require.Len(t, history, want)
	for i, s := range history {
		require.Equal(t, uint64(i+1), s.Version())
		if i == 0 {
			continue
		}
		prev := history[i-1].Values()
		changed := 0
		for k, v := range s.Values() {
			if v != prev[k] {
				changed++
				assert.Equal(t, prev[k].(int64)+1, v, "version %d, %s", s.Version(), k)
			}
		}
		assert.Equal(t, 1, changed, "version %d changes one field", s.Version())
	}
	last := history[len(history)-1]
	for i := range fields {
		assert.Equal(t, int64((want-1)/fields), first(last.GetInt(workerKey(i))), workerKey(i))
	}
}

func openWorkers(t *testing.T, st store.Store, fields int, opts config.Options) *config.Config {
	t.Helper()
	if opts.History == 0 {
		opts.History = 1000
	}
	c, err := config.New(ctx, st, "workers", workerSchema(fields), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConcurrentUpdatesAreAllAppliedAndTotallyOrdered(t *testing.T) {
	const writers, perWriter = 16, 10
	c := openWorkers(t, store.NewMemory(), writers, config.Options{})
	var mu sync.Mutex
	var notified []uint64
	c.Watch(func(old, new config.Snapshot) {
		mu.Lock()
		notified = append(notified, new.Version())
		mu.Unlock()
	})
	stopReading := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() { // reads race with the writes: versions only move forward
		last := uint64(0)
		for {
			select {
			case <-stopReading:
				return
			default:
			}
			v := c.Current().Version()
			if v < last {
				t.Errorf("Current went back from version %d to %d", last, v)
			}
			last = v
			_, _ = c.Get(workerKey(0))
		}
	})
	hammer(t, []*config.Config{c}, writers, perWriter)
	close(stopReading)
	reader.Wait()
	assertTotalOrder(t, c.History(), writers, 1+writers*perWriter)
	waitFor(t, "every notification", func() bool { mu.Lock(); defer mu.Unlock(); return len(notified) == writers*perWriter })
	mu.Lock()
	for i, v := range notified {
		assert.Equal(t, uint64(i+2), v, "notification %d", i)
	}
	mu.Unlock()
}

func TestConcurrentUpdatesFromTwoMembersShareOneHistory(t *testing.T) {
	const writers, perWriter = 6, 8
	st := store.NewMemory()
	a := openWorkers(t, st, 2*writers, config.Options{})
	b := openWorkers(t, st, 2*writers, config.Options{})
	hammer(t, []*config.Config{a, b}, writers, perWriter)
	for _, c := range []*config.Config{a, b} {
		_, err := c.Refresh(ctx)
		require.NoError(t, err)
		assertTotalOrder(t, c.History(), 2*writers, 1+2*writers*perWriter)
	}
	assert.Equal(t, a.History(), b.History(), "both members read the same versions")
}

func TestSecondMemberAdoptsAndReadsTheOthersUpdates(t *testing.T) {
	st := store.NewMemory()
	a := open(t, st, config.Options{})
	b := open(t, st, config.Options{Initial: map[string]any{"name": "ignored"}})
	assert.Equal(t, "svc", first(b.Current().GetString("name")), "a joining member adopts the stored configuration")
	assert.Equal(t, uint64(1), b.Current().Version())

	_, err := a.Update(ctx, map[string]any{"db.host": "db1"})
	require.NoError(t, err)
	assert.Equal(t, "localhost", first(b.Get("db.host")), "b has not looked yet")
	s, err := b.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), s.Version())
	assert.Equal(t, "db1", first(b.Get("db.host")))

	// b writes on top of what it has not seen yet: compare-and-commit
	// conflicts, b reloads, applies its change to version 3 and commits 4.
	_, err = a.Update(ctx, map[string]any{"debug": true})
	require.NoError(t, err)
	s, err = b.Update(ctx, map[string]any{"mode": "safe"})
	require.NoError(t, err)
	assert.Equal(t, uint64(4), s.Version())
	assert.Equal(t, with(map[string]any{"db.host": "db1", "debug": true, "mode": "safe"}), s.Values(), "nothing lost")

	s, err = a.Rollback(ctx, 2)
	require.NoError(t, err, "a rolls back to a version it knows after reloading")
	assert.Equal(t, uint64(5), s.Version())
	_, err = b.Refresh(ctx)
	require.NoError(t, err)
	assert.True(t, b.Current().SameValues(a.History()[1]))
}

func TestConflictRevalidatesAgainstTheNewerVersion(t *testing.T) {
	st := store.NewMemory()
	a := open(t, st, config.Options{})
	b := open(t, st, config.Options{})
	_, err := a.Update(ctx, map[string]any{"limits.max": 10})
	require.NoError(t, err)
	// Valid against b's stale version 1 (max 100), not against version 2.
	_, err = b.Update(ctx, map[string]any{"limits.min": 50})
	assertFieldErrors(t, err, fieldProblem{"limits.min", "50 is above limits.max 10"})
	s, err := b.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), s.Version(), "the refused update committed nothing")
}

func TestPollingDeliversOtherMembersChangesToWatchers(t *testing.T) {
	st := store.NewMemory()
	a := open(t, st, config.Options{})
	b := open(t, st, config.Options{PollInterval: 2 * time.Millisecond})
	var mu sync.Mutex
	var seen [][2]uint64
	b.Watch(func(old, new config.Snapshot) {
		mu.Lock()
		seen = append(seen, [2]uint64{old.Version(), new.Version()})
		mu.Unlock()
	})
	for i := 1; i <= 5; i++ {
		_, err := a.Update(ctx, map[string]any{"db.pool.size": i})
		require.NoError(t, err)
	}
	waitFor(t, "b's watcher to see five changes", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 5 })
	mu.Lock()
	assert.Equal(t, [][2]uint64{{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}}, seen, "each change once, in order, however polls fell")
	mu.Unlock()
	assert.Equal(t, int64(5), first(b.Current().GetInt("db.pool.size")))
}

func TestWatcherSeesAJumpWhenHistoryDroppedVersions(t *testing.T) {
	st := store.NewMemory()
	a := open(t, st, config.Options{History: 2})
	b := open(t, st, config.Options{History: 2})
	seen := make(chan [2]uint64, 10)
	b.Watch(func(old, new config.Snapshot) { seen <- [2]uint64{old.Version(), new.Version()} })
	for i := 1; i <= 5; i++ {
		_, err := a.Update(ctx, map[string]any{"db.pool.size": i})
		require.NoError(t, err)
	}
	_, err := b.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, [2]uint64{1, 5}, <-seen)
	assert.Equal(t, [2]uint64{5, 6}, <-seen)
}

func TestNewChecksTheStoredConfigurationAgainstItsSchema(t *testing.T) {
	st := store.NewMemory()
	a := open(t, st, config.Options{})
	_, err := a.Update(ctx, map[string]any{"db.pool.size": 80})
	require.NoError(t, err)

	strict := dbSchema()
	strict.Fields[2].Check = config.IntRange(1, 50)
	_, err = config.New(ctx, st, "svc", strict, config.Options{})
	assertFieldErrors(t, err, fieldProblem{"db.pool.size", "80 is out of range"})

	added := dbSchema()
	added.Fields = append(added.Fields, config.Field{Key: "region", Type: config.String, Default: "eu"})
	b, err := config.New(ctx, st, "svc", added, config.Options{})
	require.NoError(t, err)
	defer b.Close()
	assert.Equal(t, uint64(3), b.Current().Version())
	assert.Equal(t, config.CauseSchema, b.Current().Cause())
	assert.Equal(t, "eu", first(b.Get("region")))
}

func TestDamagedRecordIsRefused(t *testing.T) {
	key := store.Key{Kind: config.StoreKind, Identity: "svc"}
	for name, rec := range map[string]store.Record{
		"garbage":    {Type: "packetflow.component.config.v1.State", Schema: 1, Data: []byte{0xff, 0xff, 0xff}},
		"other type": {Type: "packetflow.examples.counter.v1.State", Schema: 1},
		"empty":      {Type: "packetflow.component.config.v1.State", Schema: 1},
	} {
		t.Run(name, func(t *testing.T) {
			st := store.NewMemory()
			_, err := st.Commit(ctx, key, 0, rec)
			require.NoError(t, err)
			_, err = config.New(ctx, st, "svc", dbSchema(), config.Options{})
			assert.ErrorIs(t, err, store.ErrCorrupt)
		})
	}
}

// flakyStore is a store.Store whose Commit fails with commitErr when set.
type flakyStore struct {
	*store.Memory
	commits   atomic.Int32
	commitErr atomic.Pointer[error]
}

func (f *flakyStore) Commit(ctx context.Context, key store.Key, expected uint64, rec store.Record) (uint64, error) {
	f.commits.Add(1)
	if err := f.commitErr.Load(); err != nil {
		return 0, *err
	}
	return f.Memory.Commit(ctx, key, expected, rec)
}

func TestWriterGivesUpAfterMaxAttempts(t *testing.T) {
	st := &flakyStore{Memory: store.NewMemory()}
	c := open(t, st, config.Options{MaxAttempts: 5})
	conflict := error(&store.ConflictError{Key: store.Key{Kind: "k", Identity: "i"}, Expected: 1, Committed: 2})
	st.commitErr.Store(&conflict)
	st.commits.Store(0)
	_, err := c.Update(ctx, map[string]any{"debug": true})
	assert.ErrorIs(t, err, store.ErrConflict)
	assert.Contains(t, err.Error(), "gave up after 5 attempts")
	assert.Equal(t, int32(5), st.commits.Load())
	assert.Equal(t, uint64(1), c.Current().Version())
}

func TestStoreFailureChangesNothing(t *testing.T) {
	st := &flakyStore{Memory: store.NewMemory()}
	c := open(t, st, config.Options{})
	unavailable := error(store.ErrUnavailable)
	st.commitErr.Store(&unavailable)
	before := c.Current()
	_, err := c.Update(ctx, map[string]any{"debug": true})
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.Equal(t, before, c.Current())
	st.commitErr.Store(nil)
	s, err := c.Update(ctx, map[string]any{"debug": true})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), s.Version())
}

func TestNewRefusesBadArguments(t *testing.T) {
	for name, call := range map[string]func() error{
		"nil store": func() error { _, err := config.New(ctx, nil, "svc", dbSchema(), config.Options{}); return err },
		"empty name": func() error {
			_, err := config.New(ctx, store.NewMemory(), "", dbSchema(), config.Options{})
			return err
		},
		"negative history": func() error {
			_, err := config.New(ctx, store.NewMemory(), "svc", dbSchema(), config.Options{History: -1})
			return err
		},
		"bad schema": func() error {
			_, err := config.New(ctx, store.NewMemory(), "svc", config.Schema{Fields: []config.Field{{Key: "a"}}}, config.Options{})
			return err
		},
	} {
		assert.ErrorIs(t, call(), config.ErrInvalid, name)
	}
}
