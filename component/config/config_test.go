package config_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

// open returns a Config of dbSchema named "svc" on st, closed at the end
// of the test.
func open(t *testing.T, st store.Store, opts config.Options) *config.Config {
	t.Helper()
	if opts.Initial == nil {
		opts.Initial = map[string]any{"name": "svc"}
	}
	c, err := config.New(context.Background(), st, "svc", dbSchema(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor fails the test unless cond holds within 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var ctx = context.Background()

func TestNewWritesVersionOneWithDefaults(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	cur := c.Current()
	assert.Equal(t, uint64(1), cur.Version())
	assert.Equal(t, config.CauseInit, cur.Cause())
	assert.Equal(t, defaults(), cur.Values())
	assert.Equal(t, "svc", c.Name())
}

func TestNewRefusesInvalidInitialValues(t *testing.T) {
	_, err := config.New(ctx, store.NewMemory(), "svc", dbSchema(), config.Options{Initial: map[string]any{"db.pool.size": 0}})
	assertFieldErrors(t, err, fieldProblem{"name", "required"}, fieldProblem{"db.pool.size", "out of range"})
}

func TestGetMissingKeyIsNotFound(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	for _, key := range []string{"debug", "peers", "no.such.key", "db.pool"} {
		_, err := c.Get(key)
		assert.ErrorIs(t, err, config.ErrNotFound, key)
	}
	v, err := c.Get("db.pool.size")
	require.NoError(t, err)
	assert.Equal(t, int64(10), v)
	_, err = c.Current().GetString("db.pool.size")
	assert.ErrorIs(t, err, config.ErrInvalid, "asking an int for a string")
}

func TestTypedGetters(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{Initial: map[string]any{
		"name": "svc", "debug": true, "peers": []string{"a", "b"},
	}})
	s := c.Current()
	name, _ := s.GetString("name")
	size, _ := s.GetInt("db.pool.size")
	ratio, _ := s.GetFloat("ratio")
	debug, _ := s.GetBool("debug")
	idle, _ := s.GetDuration("db.pool.idle")
	peers, _ := s.GetStrings("peers")
	assert.Equal(t, "svc", name)
	assert.Equal(t, int64(10), size)
	assert.Equal(t, 0.5, ratio)
	assert.True(t, debug)
	assert.Equal(t, 30*time.Second, idle)
	assert.Equal(t, []string{"a", "b"}, peers)
	_, err := s.GetBool("missing")
	assert.ErrorIs(t, err, config.ErrNotFound)
}

func TestUpdateValidatesBeforeItApplies(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	before := c.Current()

	_, err := c.Update(ctx, map[string]any{"db.pool.size": 20, "mode": "turbo"})
	assertFieldErrors(t, err, fieldProblem{"mode", `"turbo" is not one of`})
	_, err = c.Update(ctx, map[string]any{"limits.min": 500})
	assertFieldErrors(t, err, fieldProblem{"limits.min", "above limits.max"})
	_, err = c.Update(ctx, map[string]any{"name": nil})
	assertFieldErrors(t, err, fieldProblem{"name", "required"})
	_, err = c.Update(ctx, map[string]any{})
	assert.ErrorIs(t, err, config.ErrInvalid)

	assert.Equal(t, before, c.Current(), "a refused update changes nothing")
	assert.Len(t, c.History(), 1)

	s, err := c.Update(ctx, map[string]any{"db.pool.size": 20, "debug": true})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), s.Version())
	assert.Equal(t, config.CauseUpdate, s.Cause())
	assert.Equal(t, with(map[string]any{"db.pool.size": int64(20), "debug": true}), c.Current().Values())
	assert.Equal(t, defaults(), before.Values(), "an old snapshot keeps its values")

	s, err = c.Update(ctx, map[string]any{"db.pool.size": nil, "debug": nil})
	require.NoError(t, err)
	assert.Equal(t, defaults(), s.Values(), "unsetting a key brings its default back")
}

func TestSnapshotIsImmutable(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{Initial: map[string]any{"name": "svc", "peers": []string{"a"}}})
	s := c.Current()
	peers, _ := s.GetStrings("peers")
	peers[0] = "changed"
	vals := s.Values()
	vals["name"] = "changed"
	vals["peers"].([]string)[0] = "changed"
	v, _ := s.Get("peers")
	v.([]string)[0] = "changed"

	in := []string{"x"}
	_, err := c.Update(ctx, map[string]any{"peers": in})
	require.NoError(t, err)
	in[0] = "changed"

	assert.Equal(t, []string{"a"}, first(s.GetStrings("peers")))
	assert.Equal(t, "svc", first(s.GetString("name")))
	assert.Equal(t, []string{"x"}, first(c.Current().GetStrings("peers")))
}

func first[T any](v T, _ error) T { return v }

func TestHistoryIsBoundedAndRollbackRestoresExactly(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{History: 3})
	for i := 2; i <= 6; i++ {
		_, err := c.Update(ctx, map[string]any{"db.pool.size": i, "peers": []string{"p", string(rune('a' + i))}})
		require.NoError(t, err)
	}
	h := c.History()
	require.Len(t, h, 3)
	assert.Equal(t, []uint64{4, 5, 6}, versions(h))

	for _, gone := range []uint64{0, 1, 3, 7} {
		_, err := c.Rollback(ctx, gone)
		assert.ErrorIs(t, err, config.ErrNotFound, "version %d", gone)
	}
	assert.Equal(t, uint64(6), c.Current().Version(), "a failed rollback changes nothing")

	v4 := h[0]
	s, err := c.Rollback(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), s.Version(), "a rollback is a new version")
	assert.Equal(t, config.CauseRollback, s.Cause())
	assert.Equal(t, uint64(4), s.RestoredFrom())
	assert.True(t, s.SameValues(v4))
	assert.Equal(t, v4.Values(), c.Current().Values())
	assert.Equal(t, []uint64{5, 6, 7}, versions(c.History()))
	assert.False(t, s.Time().IsZero())

	_, err = c.Rollback(ctx, 4)
	assert.ErrorIs(t, err, config.ErrNotFound, "version 4 fell out of the history")
}

func versions(h []config.Snapshot) []uint64 {
	out := make([]uint64, len(h))
	for i, s := range h {
		out[i] = s.Version()
	}
	return out
}

func TestRollbackRefusedWhenInvalidUnderCurrentSchema(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	_, err := c.Update(ctx, map[string]any{"db.pool.size": 90})
	require.NoError(t, err)
	_, err = c.Update(ctx, map[string]any{"db.pool.size": 5})
	require.NoError(t, err)
	narrower := dbSchema()
	narrower.Fields[2].Check = config.IntRange(1, 50)
	require.NoError(t, c.SetSchema(ctx, narrower))

	_, err = c.Rollback(ctx, 2)
	assertFieldErrors(t, err, fieldProblem{"db.pool.size", "90 is out of range [1, 50]"})
	assert.Equal(t, uint64(3), c.Current().Version())
}

func TestWatchersSeeEachChangeOnceInOrder(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	var mu sync.Mutex
	var seen [][2]uint64
	cancel := c.Watch(func(old, new config.Snapshot) {
		mu.Lock()
		seen = append(seen, [2]uint64{old.Version(), new.Version()})
		mu.Unlock()
	})
	for i := 1; i <= 5; i++ {
		_, err := c.Update(ctx, map[string]any{"db.pool.size": i})
		require.NoError(t, err)
	}
	_, err := c.Update(ctx, map[string]any{"mode": "bad"})
	require.Error(t, err)
	_, err = c.Rollback(ctx, 2)
	require.NoError(t, err)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	waitFor(t, "six notifications", func() bool { return count() == 6 })
	mu.Lock()
	assert.Equal(t, [][2]uint64{{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}, seen)
	mu.Unlock()

	cancel()
	cancel() // idempotent
	_, err = c.Update(ctx, map[string]any{"db.pool.size": 42})
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond) // a cancelled watcher must stay silent; nothing to wait for
	assert.Equal(t, 6, count())
}

func TestWatcherMayWriteAndPanicsAreContained(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{Logger: quiet()})
	c.Watch(func(old, new config.Snapshot) { panic("bad watcher") })
	var mu sync.Mutex
	var got []int64
	c.Watch(func(old, new config.Snapshot) {
		size, _ := new.GetInt("db.pool.size")
		mu.Lock()
		got = append(got, size)
		mu.Unlock()
		if size < 5 { // a watcher may write: the component reacts to its config
			_, err := c.Update(ctx, map[string]any{"db.pool.size": size + 1})
			assert.NoError(t, err)
		}
	})
	_, err := c.Update(ctx, map[string]any{"db.pool.size": 1})
	require.NoError(t, err)
	waitFor(t, "the chain of updates", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 })
	mu.Lock()
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, got)
	mu.Unlock()
}

func TestCloseStopsWritesAndWatchers(t *testing.T) {
	c, err := config.New(ctx, store.NewMemory(), "svc", dbSchema(), config.Options{
		Initial: map[string]any{"name": "svc"}, PollInterval: time.Millisecond,
	})
	require.NoError(t, err)
	c.Watch(func(old, new config.Snapshot) {})
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Close(), config.ErrClosed)
	_, err = c.Update(ctx, map[string]any{"db.pool.size": 3})
	assert.ErrorIs(t, err, config.ErrClosed)
	_, err = c.Refresh(ctx)
	assert.ErrorIs(t, err, config.ErrClosed)
	assert.Equal(t, uint64(1), c.Current().Version(), "reads still answer")
	c.Watch(func(old, new config.Snapshot) { t.Error("called after Close") })()
}

func TestSetSchema(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	_, err := c.Update(ctx, map[string]any{"db.pool.size": 80, "peers": []string{"a"}})
	require.NoError(t, err)

	refused := []struct {
		name   string
		change func(*config.Schema)
		want   fieldProblem
	}{
		{"new required field", func(s *config.Schema) {
			s.Fields = append(s.Fields, config.Field{Key: "region", Type: config.String, Required: true})
		}, fieldProblem{"region", "required"}},
		{"narrower check", func(s *config.Schema) { s.Fields[2].Check = config.IntRange(1, 50) }, fieldProblem{"db.pool.size", "out of range"}},
		{"field type changed", func(s *config.Schema) { s.Fields[7].Type = config.String }, fieldProblem{"peers", "want a string, got a list"}},
		{"field removed", func(s *config.Schema) { s.Fields = slices.Delete(s.Fields, 7, 8) }, fieldProblem{"peers", "unknown field"}},
		{"schema-level check", func(s *config.Schema) {
			s.Check = func(config.Snapshot) error { return &config.FieldError{Field: "peers", Reason: "need two peers"} }
		}, fieldProblem{"peers", "need two peers"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Current()
			s := dbSchema()
			tt.change(&s)
			err := c.SetSchema(ctx, s)
			assertFieldErrors(t, err, tt.want)
			assert.Contains(t, err.Error(), fmt.Sprintf("schema refused: version %d would be invalid", before.Version()))
			assert.Equal(t, before, c.Current())
			_, err = c.Update(ctx, map[string]any{"db.pool.size": 99}) // the old schema still rules
			require.NoError(t, err)
			_, err = c.Rollback(ctx, before.Version())
			require.NoError(t, err)
		})
	}

	before := c.Current().Version()
	same := dbSchema()
	same.Fields[2].Doc = "connections"
	require.NoError(t, c.SetSchema(ctx, same))
	assert.Equal(t, before, c.Current().Version(), "a schema that changes no value writes no version")

	added := dbSchema()
	added.Fields = append(added.Fields, config.Field{Key: "db.pool.timeout", Type: config.Duration, Default: "5s"})
	require.NoError(t, c.SetSchema(ctx, added))
	s := c.Current()
	assert.Equal(t, before+1, s.Version())
	assert.Equal(t, config.CauseSchema, s.Cause())
	assert.Equal(t, 5*time.Second, first(s.GetDuration("db.pool.timeout")))
	_, err = c.Update(ctx, map[string]any{"db.pool.timeout": "7s"})
	require.NoError(t, err, "the new schema rules")

	bad := config.Schema{Fields: []config.Field{{Key: "a"}}}
	assert.ErrorIs(t, c.SetSchema(ctx, bad), config.ErrInvalid)
}

// quiet is a logger that drops everything, for tests that log on purpose.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
