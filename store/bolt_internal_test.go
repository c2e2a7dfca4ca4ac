package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A write that fails under the store (here: its file descriptor is closed
// behind bbolt's back, so writes and fsync fail) fails the Commits of that
// transaction with ErrFailed and makes the store refuse every later Commit,
// because what reached the disk is unknown until it is reopened.
func TestBoltFailedWriteStopsCommits(t *testing.T) {
	var file *os.File
	openFile = func(name string, flag int, perm fs.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	t.Cleanup(func() { openFile = os.OpenFile })
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenBolt(path, BoltOptions{})
	require.NoError(t, err)
	ctx := context.Background()
	key := Key{Kind: "counter", Identity: "c1"}
	rec := Record{Type: "packetflow.test.v1.State", Data: []byte("v1")}
	_, err = s.Commit(ctx, key, 0, rec)
	require.NoError(t, err)

	require.NoError(t, file.Close())
	_, err = s.Commit(ctx, key, 1, rec)
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "unknown")
	t.Log(err)
	_, err = s.Commit(ctx, Key{Kind: "counter", Identity: "other"}, 0, rec)
	require.ErrorIs(t, err, ErrFailed, "later commits are refused")
	got, err := s.Load(ctx, key)
	require.NoError(t, err, "loads go on")
	require.Equal(t, uint64(1), got.Version)
	require.Error(t, s.Close(), "closing a store whose file is gone reports it")
	require.ErrorIs(t, s.Close(), ErrClosed)
}
