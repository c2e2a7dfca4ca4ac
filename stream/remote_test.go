package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
)

// Proto.Actor's remote.Start replaces gRPC's global logger, racing with any
// other remote of the process: each member of these tests is the test
// binary re-executed as a process of its own (TestRemoteMember), and the
// test itself only reads their output.

const memberEnv = "PACKETFLOW_STREAM_MEMBER"

var int64Codec = Codec[int64]{
	Encode: func(x int64) ([]byte, error) { return binary.AppendVarint(nil, x), nil },
	Decode: func(b []byte) (int64, error) {
		x, n := binary.Varint(b)
		if n <= 0 {
			return 0, errors.New("bad varint")
		}
		return x, nil
	},
}

// startRemoteSystem starts an actor system with remote on a loopback port.
func startRemoteSystem(t testing.TB) *protoactor.ActorSystem {
	sys := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger { return quiet }))
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
	r.Start()
	t.Cleanup(func() { r.Shutdown(true); sys.Shutdown() })
	return sys
}

// TestRemoteMember is one member of a remote test, when run as such.
func TestRemoteMember(t *testing.T) {
	role := os.Getenv(memberEnv)
	if role == "" {
		t.Skip("run by the remote tests in a process of its own")
	}
	sys := startRemoteSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var p *Pipeline
	var err error
	switch role {
	case "subscriber":
		src, inlet := FromRemote(int64Codec)
		var n, sum int64
		p, err = Via(src, Map(func(x int64) int64 { return x * 2 })).To(ForEach(func(x int64) {
			if n++; n == 100 {
				fmt.Println("receiving")
			}
			sum += x
		})).Run(ctx, sys)
		require.NoError(t, err)
		fmt.Println("pid", inlet.PID().Address, inlet.PID().Id)
		err = p.Wait(ctx)
		fmt.Printf("done %d %d %v\n", n, sum, err)
	case "publisher":
		peer := strings.Fields(os.Getenv(memberEnv + "_PEER"))
		limit, _ := strconv.ParseInt(os.Getenv(memberEnv+"_N"), 10, 64)
		var i int64
		src := Generate(func() (int64, bool) { i++; return i, limit == 0 || i <= limit })
		p, err = src.To(ToRemote(protoactor.NewPID(peer[0], peer[1]), int64Codec)).RunWith(ctx, sys, Config{Batch: 64})
		require.NoError(t, err)
		err = p.Wait(ctx)
		fmt.Printf("done %v\n", err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // stay a member until the parent is done
	os.Exit(0)                           // a helper process: the leak check is the parent's
}

// member is a TestRemoteMember process (or another test's, see
// startTestProcess).
type member struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startMember(t *testing.T, role string, env ...string) *member {
	t.Helper()
	return startTestProcess(t, "TestRemoteMember", append([]string{memberEnv + "=" + role}, env...)...)
}

// startTestProcess runs the test binary's test named test, with env added
// to the environment, as a process of its own; the process ends after its
// stdin is closed, when the test ends.
func startTestProcess(t *testing.T, test string, env ...string) *member {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), "GORACE=atexit_sleep_ms=0"), env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	m := &member{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		defer close(m.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		exited := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
		defer exited.Stop()
		for range m.lines {
		}
		_ = cmd.Wait()
	})
	return m
}

// line waits for the member's first line starting with prefix and returns
// the rest.
func (m *member) line(t *testing.T, prefix string) string {
	t.Helper()
	return m.lineSeeing(t, prefix, nil)
}

// lineSeeing is line, also calling see, if not nil, with every line read
// on the way.
func (m *member) lineSeeing(t *testing.T, prefix string, see func(string)) string {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				t.Fatalf("member exited without printing %q", prefix)
			}
			if see != nil {
				see(l)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-deadline.C:
			t.Fatalf("member printed no %q within a minute", prefix)
		}
	}
}

func TestRemoteStreamKeepsBackpressureAcrossMembers(t *testing.T) {
	sub := startMember(t, "subscriber")
	pid := sub.line(t, "pid")
	pub := startMember(t, "publisher", memberEnv+"_PEER="+pid, memberEnv+"_N=10000")
	require.Equal(t, "<nil>", pub.line(t, "done"))
	// 1..10000 doubled: every element arrived once, in a stream that
	// completed on both sides.
	require.Equal(t, "10000 100010000 <nil>", sub.line(t, "done"))
}

// A stream that is not restartable fails on the side that survives,
// whichever side dies.
func TestRemoteMemberDeathFailsThePipeline(t *testing.T) {
	for _, dies := range []string{"publisher", "subscriber"} {
		t.Run(dies+" dies", func(t *testing.T) {
			sub := startMember(t, "subscriber")
			pid := sub.line(t, "pid")
			pub := startMember(t, "publisher", memberEnv+"_PEER="+pid) // endless
			sub.line(t, "receiving")
			dead, survivor := pub, sub
			if dies == "subscriber" {
				dead, survivor = sub, pub
			}
			require.NoError(t, dead.cmd.Process.Kill())
			done := survivor.line(t, "done")
			require.Contains(t, done, ErrStageLost.Error())
			require.Contains(t, done, "terminated")
		})
	}
}
