package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/storetest"
)

var bg = context.Background()

// openBolt opens the store in path and closes it when the test ends.
func openBolt(t testing.TB, path string, opts store.BoltOptions) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func statePath(t testing.TB) string { return filepath.Join(t.TempDir(), "state.db") }

func state(data string) store.Record {
	return store.Record{Type: "packetflow.test.v1.State", Schema: 1, Data: []byte(data)}
}

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenBolt(statePath(t), store.BoltOptions{})
		require.NoError(t, err)
		return s
	})
}

// Small batches gathered over a delay: more transactions re-run with a
// Commit taken out, more batches with two Commits of one key.
func TestBoltConformanceBatchDelay(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenBolt(statePath(t), store.BoltOptions{MaxBatchDelay: 2 * time.Millisecond, MaxBatchSize: 5})
		require.NoError(t, err)
		return s
	})
}

func TestBoltReopenKeepsEveryRecord(t *testing.T) {
	path := statePath(t)
	s, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	want := map[store.Key]uint64{}
	for i := range 60 {
		key := store.Key{Kind: fmt.Sprint("kind", i%3), Identity: fmt.Sprint("id", i)}
		for v := range uint64(i%5 + 1) {
			_, err := s.Commit(bg, key, v, state(fmt.Sprint(key, " v", v+1)))
			require.NoError(t, err)
		}
		want[key] = uint64(i%5 + 1)
	}
	require.NoError(t, s.Close())

	s = openBolt(t, path, store.BoltOptions{})
	for key, v := range want {
		got, err := s.Load(bg, key)
		require.NoError(t, err)
		require.Equal(t, state(fmt.Sprint(key, " v", v)).Data, got.Data)
		require.Equal(t, v, got.Version)
	}
	// Versions go on from where they were.
	key := store.Key{Kind: "kind0", Identity: "id0"}
	_, err = s.Commit(bg, key, 0, state("stale"))
	require.ErrorIs(t, err, store.ErrConflict)
	v, err := s.Commit(bg, key, want[key], state("next"))
	require.NoError(t, err)
	require.Equal(t, want[key]+1, v)
}

func TestBoltGroupCommit(t *testing.T) {
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprint("delay=", delay), func(t *testing.T) {
			s := openBolt(t, statePath(t), store.BoltOptions{MaxBatchDelay: delay})
			const writers, commits = 64, 10
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := store.Key{Kind: "counter", Identity: fmt.Sprint(w)}
					for v := range uint64(commits) {
						if _, err := s.Commit(bg, key, v, state("x")); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			st := s.Stats()
			t.Logf("%d commits in %d transactions", st.Commits, st.Transactions)
			require.Equal(t, uint64(writers*commits), st.Commits)
			require.Less(t, st.Transactions, st.Commits, "concurrent commits share transactions")
			if delay > 0 {
				// Every round of 64 commits gathers within the delay.
				require.LessOrEqual(t, st.Transactions*4, st.Commits)
			}
		})
	}
}

// flipByte changes one byte of every occurrence of marker in path (bbolt
// copies pages on write, so freed pages may hold old copies).
func flipByte(t *testing.T, path string, marker []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	found := 0
	for at := 0; ; at++ {
		i := bytes.Index(data[at:], marker)
		if i < 0 {
			break
		}
		at += i
		_, err = f.WriteAt([]byte{data[at+3] ^ 0x20}, int64(at+3))
		require.NoError(t, err)
		found++
	}
	require.NotZero(t, found, "marker not in the file")
}

func TestBoltCorruptRecord(t *testing.T) {
	path := statePath(t)
	s, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	damaged := store.Key{Kind: "counter", Identity: "damaged"}
	intact := store.Key{Kind: "counter", Identity: "intact"}
	_, err = s.Commit(bg, damaged, 0, state("the state that will be damaged"))
	require.NoError(t, err)
	_, err = s.Commit(bg, intact, 0, state("intact"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	flipByte(t, path, []byte("the state that will be damaged"))

	// Opening verifies every record by default.
	_, err = store.OpenBolt(path, store.BoltOptions{})
	t.Log(err)
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "counter/damaged")
	require.ErrorContains(t, err, "checksum mismatch")

	// Without the check, the damage is found when the record is used.
	s = openBolt(t, path, store.BoltOptions{SkipVerify: true})
	rec, err := s.Load(bg, damaged)
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "counter/damaged")
	require.Equal(t, store.Record{}, rec, "never a zero value that looks like state")
	_, err = s.Commit(bg, damaged, 1, state("overwrite"))
	require.ErrorIs(t, err, store.ErrCorrupt, "a damaged record is not overwritten")
	_, err = s.Commit(bg, damaged, 0, state("overwrite"))
	require.ErrorIs(t, err, store.ErrCorrupt)
	got, err := s.Load(bg, intact)
	require.NoError(t, err)
	require.Equal(t, "intact", string(got.Data))
	_, err = s.Commit(bg, intact, 1, state("still writable"))
	require.NoError(t, err, "other records stay usable")
	require.NoError(t, s.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), "overwrite")
}

func TestBoltRefusesBadFiles(t *testing.T) {
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	cases := []struct {
		name    string
		content []byte
		says    string
	}{
		{"random bytes", random, "not a bbolt database"},
		{"a short text", []byte("hello, I am not a database\n"), "not a bbolt database"},
		{"zeros", make([]byte, 64<<10), "not a bbolt database"},
		{"empty", nil, "is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := statePath(t)
			require.NoError(t, os.WriteFile(path, tc.content, 0o600))
			_, err := store.OpenBolt(path, store.BoltOptions{})
			t.Log(err)
			require.ErrorIs(t, err, store.ErrCorrupt)
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, tc.says)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tc.content, after), "the file is left as it was")
		})
	}
	t.Run("another program's bbolt file", func(t *testing.T) {
		path := statePath(t)
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("theirs"))
			return err
		}))
		require.NoError(t, db.Close())
		_, err = store.OpenBolt(path, store.BoltOptions{})
		require.ErrorIs(t, err, store.ErrCorrupt)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, err, "not a PacketFlow state store")
	})
	t.Run("a directory", func(t *testing.T) {
		path := t.TempDir()
		_, err := store.OpenBolt(path, store.BoltOptions{})
		require.ErrorIs(t, err, store.ErrCorrupt)
		require.ErrorContains(t, err, "not a regular file")
	})
	t.Run("no such directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing", "state.db")
		_, err := store.OpenBolt(path, store.BoltOptions{})
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, path)
	})
}

func TestBoltRefusesTruncatedFile(t *testing.T) {
	path := statePath(t)
	s, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	for i := range 300 {
		key := store.Key{Kind: "counter", Identity: fmt.Sprint(i)}
		_, err := s.Commit(bg, key, 0, state(string(bytes.Repeat([]byte{byte(i)}, 2000))))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	// bbolt grows the file ahead of its pages: cut below the pages in use.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	var used int
	require.NoError(t, db.View(func(tx *bolt.Tx) error { used = int(tx.Size()); return nil }))
	require.NoError(t, db.Close())
	require.Greater(t, used, 600<<10)
	t.Logf("file %d bytes, pages in use %d", len(whole), used)

	// Every page boundary below the pages in use, and two odd sizes.
	sizes := []int{used - 1, 3*4096 + 100}
	for size := 8192; size < used; size += 4096 {
		sizes = append(sizes, size)
	}
	for _, size := range sizes {
		skipVerify := size/4096%2 == 1
		cut := filepath.Join(t.TempDir(), fmt.Sprintf("cut-%d.db", size))
		require.NoError(t, os.WriteFile(cut, whole[:size], 0o600))
		s, err := store.OpenBolt(cut, store.BoltOptions{SkipVerify: skipVerify})
		if err == nil {
			_ = s.Close()
		}
		require.ErrorIs(t, err, store.ErrCorrupt, "cut at %d bytes", size)
		require.ErrorContains(t, err, cut)
		if size%(64<<10) == 0 {
			t.Log(err)
		}
		after, err := os.ReadFile(cut)
		require.NoError(t, err)
		require.Len(t, after, size, "the file is left as it was")
	}
}

func TestBoltLockedFile(t *testing.T) {
	path := statePath(t)
	first, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	start := time.Now()
	_, err = store.OpenBolt(path, store.BoltOptions{Timeout: 200 * time.Millisecond})
	require.ErrorIs(t, err, store.ErrLocked)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "in use by another process")
	require.Less(t, time.Since(start), 5*time.Second)

	// The lock goes with Close.
	require.NoError(t, first.Close())
	second := openBolt(t, path, store.BoltOptions{Timeout: 200 * time.Millisecond})
	_, err = second.Commit(bg, store.Key{Kind: "k", Identity: "i"}, 0, state("x"))
	require.NoError(t, err)
}

func TestBoltOptionsAndPath(t *testing.T) {
	_, err := store.OpenBolt("", store.BoltOptions{})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = store.OpenBolt(statePath(t), store.BoltOptions{MaxBatchSize: -1})
	require.ErrorIs(t, err, store.ErrInvalid)

	// A relative path is reported absolute.
	dir := t.TempDir()
	t.Chdir(dir)
	s := openBolt(t, "state.db", store.BoltOptions{})
	require.Equal(t, filepath.Join(dir, "state.db"), s.Path())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "creating the file leaves no temporary file behind")
}
