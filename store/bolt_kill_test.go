package store_test

// The crash test: a child process (this test binary, re-executed) commits
// in a loop and prints every acknowledged version; the parent SIGKILLs it
// mid-flight, reopens the file and checks that no acknowledged commit is
// missing.

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/store"
)

// killChildEnv names the store file when the test binary runs as the
// committing child of TestBoltSurvivesKill.
const killChildEnv = "PACKETFLOW_STORE_KILL_CHILD"

// killWriters commit concurrently in the child, each to its own key.
const killWriters = 8

func killKey(w int) store.Key { return store.Key{Kind: "counter", Identity: fmt.Sprint("w", w)} }

// killData is the state the child commits as version v of writer w; the
// padding makes records big enough to move between pages.
func killData(w int, v uint64) string {
	return fmt.Sprintf("writer %d version %d %s", w, v, strings.Repeat("p", int(v%7)*100))
}

// TestBoltKillChild is the child of TestBoltSurvivesKill; otherwise it is
// skipped. It goes on from the versions in the file, prints "ack W V" once
// writer W's commit of version V returned, and runs until it is killed.
func TestBoltKillChild(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("runs only as the child process of TestBoltSurvivesKill")
	}
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(3)
	}
	var out sync.Mutex
	for w := range killWriters {
		go func() {
			rec, err := s.Load(bg, killKey(w))
			for v := rec.Version; err == nil; v++ {
				_, err = s.Commit(bg, killKey(w), v, state(killData(w, v+1)))
				out.Lock()
				if err == nil {
					fmt.Printf("ack %d %d\n", w, v+1)
				} else {
					fmt.Printf("failed %d %d: %v\n", w, v+1, err)
				}
				out.Unlock()
			}
			os.Exit(4)
		}()
	}
	fmt.Println("ready")
	select {}
}

func TestBoltSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := statePath(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	acked := make([]uint64, killWriters)
	for round := range 3 {
		killAfter := 100 + rng.IntN(400)
		killChild(t, path, round, killAfter, acked)

		s := openBolt(t, path, store.BoltOptions{})
		for w := range killWriters {
			rec, err := s.Load(bg, killKey(w))
			require.NoError(t, err)
			require.GreaterOrEqual(t, rec.Version, acked[w], "round %d writer %d: an acknowledged commit is lost", round, w)
			require.LessOrEqual(t, rec.Version, acked[w]+1, "round %d writer %d: at most the one commit in flight is unacknowledged", round, w)
			require.Equal(t, killData(w, rec.Version), string(rec.Data))
			acked[w] = rec.Version
		}
		require.NoError(t, s.Close())
	}
}

// killChild runs a child on path until it acknowledged killAfter commits,
// SIGKILLs it and records in acked the last version each writer had
// acknowledged. While the child runs, the file is locked against this
// process too.
func killChild(t *testing.T, path string, round, killAfter int, acked []uint64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltKillChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed, waited := false, false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()

	lines := bufio.NewScanner(stdout)
	n := 0
	var output []string
	for lines.Scan() {
		line := lines.Text()
		var w int
		var v uint64
		if _, err := fmt.Sscanf(line, "ack %d %d", &w, &v); err != nil {
			output = append(output, line)
			if line == "ready" && round == 0 {
				_, err := store.OpenBolt(path, store.BoltOptions{Timeout: 100 * time.Millisecond})
				require.ErrorIs(t, err, store.ErrLocked, "another process has the file open")
			}
			continue
		}
		require.Greater(t, v, acked[w], "writer %d acknowledged version %d twice", w, v)
		acked[w] = v
		n++
		if n == killAfter && !killed {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
			// Lines already in the pipe were acknowledged before the kill.
		}
	}
	err = cmd.Wait()
	waited = true
	require.True(t, killed, "the child stopped after %d acks:\n%s\nstderr:\n%s", n, strings.Join(output, "\n"), stderr.String())
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "the child died of the kill")
	t.Logf("round %d: killed after %d acks (%d read in all)", round, killAfter, n)
}
