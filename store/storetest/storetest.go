// Package storetest is the conformance suite of store.Store: every
// implementation (in memory, in a file, replicated) passes Run, so a
// reactor behaves the same on each.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return myStore(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/store"
)

// Run runs the suite as subtests of t. open returns a new, empty store for
// each subtest; Run closes it when the subtest ends (a Close that returns
// store.ErrClosed because the subtest closed it already is fine).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"LoadMissing", testLoadMissing},
		{"RoundTrip", testRoundTrip},
		{"EmptyData", testEmptyData},
		{"VersionIncrements", testVersionIncrements},
		{"KeysAreIndependent", testKeysAreIndependent},
		{"Conflict", testConflict},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ConcurrentDifferentKeys", testConcurrentDifferentKeys},
		{"Close", testClose},
		{"CloseWhileCommitting", testCloseWhileCommitting},
		{"BadInput", testBadInput},
		{"Limits", testLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			require.NotNil(t, s, "open returned a nil store")
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// bg is the context of the suite's calls; go test's -timeout catches a
// store that hangs.
var bg = context.Background()

func rec(data string) store.Record {
	return store.Record{Type: "packetflow.test.v1.State", Schema: 3, Data: []byte(data)}
}

// requireRecord checks key's committed record.
func requireRecord(t *testing.T, s store.Store, key store.Key, version uint64, data string) {
	t.Helper()
	got, err := s.Load(bg, key)
	require.NoError(t, err, "Load %s", key)
	require.Equal(t, version, got.Version, "version of %s", key)
	if version == 0 {
		require.Equal(t, store.Record{}, got, "an uncommitted key loads as the zero Record")
		return
	}
	require.Equal(t, "packetflow.test.v1.State", got.Type)
	require.Equal(t, uint32(3), got.Schema)
	require.Equal(t, data, string(got.Data), "data of %s", key)
}

func testLoadMissing(t *testing.T, s store.Store) {
	requireRecord(t, s, store.Key{Kind: "counter", Identity: "never"}, 0, "")
}

func testRoundTrip(t *testing.T, s store.Store) {
	key := store.Key{Kind: "counter", Identity: "c1"}
	r := store.Record{Version: 99, Type: "packetflow.test.v1.State", Schema: 7, Data: []byte{0, 1, 2, 0xff}}
	v, err := s.Commit(bg, key, 0, r)
	require.NoError(t, err)
	require.Equal(t, uint64(1), v, "the first commit is version 1, whatever rec.Version says")
	r.Data[0] = 42 // the store kept its own copy
	got, err := s.Load(bg, key)
	require.NoError(t, err)
	require.Equal(t, store.Record{Version: 1, Type: "packetflow.test.v1.State", Schema: 7, Data: []byte{0, 1, 2, 0xff}}, got)
	got.Data[1] = 42 // and hands out copies
	again, err := s.Load(bg, key)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2, 0xff}, again.Data)

	// Keys are bytes: any non-empty string up to the limits works.
	odd := store.Key{Kind: "kind with spaces/and/slashes", Identity: "\x00ünïcode\n" + strings.Repeat("x", 200)}
	_, err = s.Commit(bg, odd, 0, rec("odd"))
	require.NoError(t, err)
	requireRecord(t, s, odd, 1, "odd")
}

func testEmptyData(t *testing.T, s store.Store) {
	// A proto3 message with default values marshals to no bytes.
	key := store.Key{Kind: "counter", Identity: "zero"}
	v, err := s.Commit(bg, key, 0, store.Record{Type: "packetflow.test.v1.State"})
	require.NoError(t, err)
	require.Equal(t, uint64(1), v)
	got, err := s.Load(bg, key)
	require.NoError(t, err)
	require.Equal(t, uint64(1), got.Version)
	require.Equal(t, "packetflow.test.v1.State", got.Type)
	require.Empty(t, got.Data)
}

func testVersionIncrements(t *testing.T, s store.Store) {
	key := store.Key{Kind: "counter", Identity: "c1"}
	for i := uint64(0); i < 10; i++ {
		v, err := s.Commit(bg, key, i, rec(fmt.Sprint("state ", i+1)))
		require.NoError(t, err)
		require.Equal(t, i+1, v)
		requireRecord(t, s, key, i+1, fmt.Sprint("state ", i+1))
	}
}

func testKeysAreIndependent(t *testing.T, s store.Store) {
	keys := []store.Key{
		{Kind: "a", Identity: "b/c"},
		{Kind: "a/b", Identity: "c"},
		{Kind: "a", Identity: "b"},
		{Kind: "b", Identity: "a"},
		{Kind: "ab", Identity: "c"},
		{Kind: "a", Identity: "bc"},
	}
	for i, k := range keys {
		for v := uint64(0); v <= uint64(i); v++ {
			_, err := s.Commit(bg, k, v, rec(fmt.Sprint(k, v+1)))
			require.NoError(t, err, "commit %q/%q", k.Kind, k.Identity)
		}
	}
	for i, k := range keys {
		requireRecord(t, s, k, uint64(i+1), fmt.Sprint(k, i+1))
	}
}

func testConflict(t *testing.T, s store.Store) {
	key := store.Key{Kind: "counter", Identity: "c1"}
	_, err := s.Commit(bg, key, 1, rec("ahead of nothing"))
	requireConflict(t, err, key, 1, 0)
	requireRecord(t, s, key, 0, "")

	for v := uint64(0); v < 3; v++ {
		_, err := s.Commit(bg, key, v, rec(fmt.Sprint("v", v+1)))
		require.NoError(t, err)
	}
	for _, stale := range []uint64{0, 1, 2, 4, 100} {
		_, err := s.Commit(bg, key, stale, rec("stale"))
		requireConflict(t, err, key, stale, 3)
	}
	requireRecord(t, s, key, 3, "v3")
	v, err := s.Commit(bg, key, 3, rec("v4"))
	require.NoError(t, err)
	require.Equal(t, uint64(4), v)
}

func requireConflict(t *testing.T, err error, key store.Key, expected, committed uint64) {
	t.Helper()
	require.ErrorIs(t, err, store.ErrConflict)
	var ce *store.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, store.ConflictError{Key: key, Expected: expected, Committed: committed}, *ce)
	msg := err.Error()
	for _, want := range []string{key.Kind, key.Identity, fmt.Sprint(expected), fmt.Sprint(committed)} {
		require.Contains(t, msg, want, "the conflict names the key and both versions")
	}
}

func testConcurrentSameKey(t *testing.T, s store.Store) {
	// Writers that all loaded the same version race; each round has
	// exactly one winner, whose record is the one committed.
	const writers, rounds = 16, 5
	key := store.Key{Kind: "counter", Identity: "contended"}
	for round := uint64(0); round < rounds; round++ {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		versions := make([]uint64, writers)
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				versions[w], errs[w] = s.Commit(bg, key, round, rec(fmt.Sprint("writer ", w)))
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: writers %d and %d both won", round, winner, w)
				require.Equal(t, round+1, versions[w])
				winner = w
				continue
			}
			requireConflict(t, err, key, round, round+1)
		}
		require.NotEqual(t, -1, winner, "round %d: no writer won", round)
		requireRecord(t, s, key, round+1, fmt.Sprint("writer ", winner))
	}
}

func testConcurrentDifferentKeys(t *testing.T, s store.Store) {
	const writers, commits = 64, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := store.Key{Kind: "counter", Identity: fmt.Sprint("w", w)}
			for v := uint64(0); v < commits; v++ {
				got, err := s.Commit(bg, key, v, rec(fmt.Sprint(key, v+1)))
				if err == nil && got != v+1 {
					err = fmt.Errorf("commit %s: version %d, want %d", key, got, v+1)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		key := store.Key{Kind: "counter", Identity: fmt.Sprint("w", w)}
		requireRecord(t, s, key, commits, fmt.Sprint(key, commits))
	}
}

func testClose(t *testing.T, s store.Store) {
	key := store.Key{Kind: "counter", Identity: "c1"}
	_, err := s.Commit(bg, key, 0, rec("v1"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Load(bg, key)
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = s.Commit(bg, key, 1, rec("v2"))
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, s.Close(), store.ErrClosed)
}

func testCloseWhileCommitting(t *testing.T, s store.Store) {
	// Commits racing with Close either succeed or fail with ErrClosed;
	// none hangs, and Close waits for those in progress.
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := store.Key{Kind: "counter", Identity: fmt.Sprint("w", w)}
			for v := uint64(0); ; v++ {
				_, err := s.Commit(bg, key, v, rec("x"))
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, s.Close())
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testBadInput(t *testing.T, s store.Store) {
	good := store.Key{Kind: "counter", Identity: "c1"}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	var nilCtx context.Context
	cases := []struct {
		name     string
		ctx      context.Context
		key      store.Key
		expected uint64
		rec      store.Record
		is       error
		says     string // the message contains it
	}{
		{"nil context", nilCtx, good, 0, rec("x"), store.ErrInvalid, "nil context"},
		{"cancelled context", cancelled, good, 0, rec("x"), context.Canceled, "canceled"},
		{"expired context", expired, good, 0, rec("x"), context.DeadlineExceeded, "deadline"},
		{"empty kind", bg, store.Key{Identity: "c1"}, 0, rec("x"), store.ErrInvalid, "empty kind"},
		{"empty identity", bg, store.Key{Kind: "counter"}, 0, rec("x"), store.ErrInvalid, "empty identity"},
		{"oversize kind", bg, store.Key{Kind: strings.Repeat("k", store.MaxKindLen+1), Identity: "c1"}, 0, rec("x"),
			store.ErrInvalid, "kind is 257 bytes"},
		{"oversize identity", bg, store.Key{Kind: "counter", Identity: strings.Repeat("i", store.MaxIdentityLen+1)}, 0, rec("x"),
			store.ErrInvalid, "identity is 257 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Load(tc.ctx, tc.key)
			require.ErrorIs(t, err, tc.is, "Load")
			require.Contains(t, err.Error(), tc.says)
			_, err = s.Commit(tc.ctx, tc.key, tc.expected, tc.rec)
			require.ErrorIs(t, err, tc.is, "Commit")
			require.Contains(t, err.Error(), tc.says)
			if tc.key == good {
				requireRecord(t, s, good, 0, "")
			}
		})
	}
	commits := []struct {
		name     string
		expected uint64
		rec      store.Record
		says     string
	}{
		{"oversize type", 0, store.Record{Type: strings.Repeat("t", store.MaxTypeLen+1)}, "type is 513 bytes"},
		{"type not UTF-8", 0, store.Record{Type: "bad\xff"}, "not valid UTF-8"},
		{"oversize data", 0, store.Record{Type: "t", Data: make([]byte, store.MaxDataLen+1)}, "data is 16777217 bytes"},
		{"last version", math.MaxUint64, rec("x"), "largest"},
	}
	for _, tc := range commits {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Commit(bg, good, tc.expected, tc.rec)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Contains(t, err.Error(), tc.says)
			require.Contains(t, err.Error(), "counter/c1", "the error names the key")
			requireRecord(t, s, good, 0, "")
		})
	}
}

func testLimits(t *testing.T, s store.Store) {
	// Exactly at the limits is accepted.
	key := store.Key{Kind: strings.Repeat("k", store.MaxKindLen), Identity: strings.Repeat("i", store.MaxIdentityLen)}
	big := bytes.Repeat([]byte{7}, store.MaxDataLen)
	r := store.Record{Type: strings.Repeat("t", store.MaxTypeLen), Schema: math.MaxUint32, Data: big}
	v, err := s.Commit(bg, key, 0, r)
	require.NoError(t, err)
	require.Equal(t, uint64(1), v)
	got, err := s.Load(bg, key)
	require.NoError(t, err)
	assert.Equal(t, r.Type, got.Type)
	assert.Equal(t, r.Schema, got.Schema)
	assert.True(t, bytes.Equal(big, got.Data), "16 MiB of data round-trips")
}

// BenchmarkCommit commits to s from committers goroutines, each on its own
// key, b.N commits in all: ns/op is the time per commit of all committers
// together (the inverse of throughput); it reports the p50 and p99 latency
// of one Commit (p50-µs, p99-µs) and, for a *store.Bolt, how many commits
// shared each transaction (commits/tx). Keys start at the version they
// have, so s may be reused across calls.
func BenchmarkCommit(b *testing.B, s store.Store, committers int) {
	data := make([]byte, 64) // a small reactor state
	latencies := make([][]time.Duration, committers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range committers {
		n := b.N / committers
		if c < b.N%committers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := store.Key{Kind: "counter", Identity: fmt.Sprint("c", c)}
			cur, err := s.Load(bg, key)
			if err != nil {
				b.Error(err)
				return
			}
			lat := make([]time.Duration, 0, n)
			for v := cur.Version; v < cur.Version+uint64(n); v++ {
				start := time.Now()
				if _, err := s.Commit(bg, key, v, store.Record{Type: "packetflow.test.v1.State", Schema: 1, Data: data}); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(start))
			}
			latencies[c] = lat
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	quantile := func(q float64) float64 {
		return float64(all[int(q*float64(len(all)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(quantile(0.50), "p50-µs")
	b.ReportMetric(quantile(0.99), "p99-µs")
	if bs, ok := s.(*store.Bolt); ok {
		if st := bs.Stats(); st.Transactions > 0 {
			b.ReportMetric(float64(st.Commits)/float64(st.Transactions), "commits/tx")
		}
	}
}
