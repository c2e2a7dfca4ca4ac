package stream

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
)

// Restartable streams across processes: a publisher streams to a
// subscriber process that is killed (SIGKILL) mid-stream, and a
// replacement subscriber takes over. As in remote_test.go, every member is
// the test binary re-executed (TestRestartMember); the test reads what the
// members print and speaks to the publisher through its stdin.

const restartEnv = "PACKETFLOW_STREAM_RESTART_MEMBER"

// TestRestartMember is one member of a restart test, when run as such.
//
// "sink": a FromRemoteAcked pipeline starting at $_FROM that prints "pid
// <address> <id>", then "e <value>" for every element it handled (value is
// positionValue(position)), and, after $_STALL elements if set, "stalled",
// and then blocks: the test kills it there.
//
// "publisher": positionSource($_N) to ToRemoteRestartable($_PEER) with
// MaxRestarts $_MAX and Window $_WINDOW, whose Reconnect prints
// "reconnecting" and reads the replacement's "<address> <id>" from stdin.
func TestRestartMember(t *testing.T) {
	role := os.Getenv(restartEnv)
	if role == "" {
		t.Skip("run by the restart tests in a process of its own")
	}
	env := func(k string) int64 { n, _ := strconv.ParseInt(os.Getenv(restartEnv+"_"+k), 10, 64); return n }
	sys := startRemoteSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	switch role {
	case "sink":
		stall := env("STALL")
		src, ri := FromRemoteAcked(int64Codec, env("FROM"))
		var n int64
		p, err := src.To(ForEachAck(ri, func(x int64) error {
			if stall > 0 && n == stall {
				fmt.Println("stalled")
				<-ctx.Done()
				return ctx.Err()
			}
			n++
			fmt.Println("e", x)
			return nil
		})).Run(ctx, sys)
		require.NoError(t, err)
		fmt.Println("pid", ri.PID().Address, ri.PID().Id)
		err = p.Wait(ctx)
		fmt.Printf("done %d %v\n", n, err)
	case "publisher":
		peer := strings.Fields(os.Getenv(restartEnv + "_PEER"))
		r := Restartable{MaxRestarts: int(env("MAX")), Window: int(env("WINDOW")), Reconnect: func(ctx context.Context) (*protoactor.PID, error) {
			fmt.Println("reconnecting")
			select {
			case l, ok := <-lines:
				if f := strings.Fields(l); ok && len(f) == 2 {
					return protoactor.NewPID(f[0], f[1]), nil
				}
				return nil, fmt.Errorf("no replacement on stdin (%q)", l)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
		p, err := positionSource(env("N")).To(ToRemoteRestartable(protoactor.NewPID(peer[0], peer[1]), int64Codec, r)).
			RunWith(ctx, sys, Config{Batch: 64})
		require.NoError(t, err)
		err = p.Wait(ctx)
		st := p.Stats()[1]
		fmt.Printf("done restarts=%d replayed=%d err=%v\n", st.Restarts, st.Replayed, err)
	}
	for range lines { // stay a member until the parent is done
	}
	os.Exit(0) // a helper process: the leak check is the parent's
}

// restartMember is a TestRestartMember process.
type restartMember struct {
	*member
	// positions are those of the "e" lines read so far, in order.
	positions []int64
}

func startRestartMember(t *testing.T, role string, env ...string) *restartMember {
	t.Helper()
	return &restartMember{member: startTestProcess(t, "TestRestartMember", append([]string{restartEnv + "=" + role}, env...)...)}
}

// record records an "e" line's position.
func (m *restartMember) record(t *testing.T, l string) {
	t.Helper()
	if v, ok := strings.CutPrefix(l, "e "); ok {
		x, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		require.Zero(t, (x-1)%3, "value %d is at no position", x)
		m.positions = append(m.positions, (x-1)/3)
	}
}

// until waits for the member's next line starting with prefix and returns
// the rest, recording the "e" lines on the way.
func (m *restartMember) until(t *testing.T, prefix string) string {
	t.Helper()
	return m.lineSeeing(t, prefix, func(l string) { m.record(t, l) })
}

// kill kills the member (SIGKILL) and records what it printed before.
func (m *restartMember) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, m.cmd.Process.Kill())
	for l := range m.lines { // ends: the process is dead
		m.record(t, l)
	}
}

func (m *restartMember) tell(t *testing.T, line string) {
	t.Helper()
	_, err := fmt.Fprintln(m.stdin, line)
	require.NoError(t, err)
}

// requireRange checks that positions are exactly from, from+1, ..., to-1.
func requireRange(t *testing.T, positions []int64, from, to int64) {
	t.Helper()
	require.Len(t, positions, int(to-from), "positions %d..%d", from, to-1)
	for i, p := range positions {
		if p != from+int64(i) {
			t.Fatalf("position %d at index %d, want %d", p, i, from+int64(i))
		}
	}
}

func parseDone(t *testing.T, done string) (restarts, replayed int64, err string) {
	t.Helper()
	_, scanErr := fmt.Sscanf(done, "restarts=%d replayed=%d", &restarts, &replayed)
	require.NoError(t, scanErr, done)
	_, err, _ = strings.Cut(done, "err=")
	return restarts, replayed, err
}

func TestRestartableStreamSurvivesTheLossOfItsSubscriber(t *testing.T) {
	const n, stall, window = 4000, 1500, 256
	sink1 := startRestartMember(t, "sink", restartEnv+"_STALL="+strconv.Itoa(stall))
	sink2 := startRestartMember(t, "sink") // the replacement, knowing nothing
	pid1, pid2 := sink1.until(t, "pid"), sink2.until(t, "pid")
	pub := startRestartMember(t, "publisher", restartEnv+"_PEER="+pid1, restartEnv+"_N="+strconv.Itoa(n),
		restartEnv+"_WINDOW="+strconv.Itoa(window))
	pub.tell(t, pid2) // what Reconnect will return

	sink1.until(t, "stalled")
	sink1.kill(t)
	requireRange(t, sink1.positions, 0, stall)

	// Read sink2 to its end first: it does not wait for the publisher's
	// output, the publisher waits for its acknowledgements.
	done2 := sink2.until(t, "done") // after every "e" line of sink2
	require.Equal(t, fmt.Sprintf("%d <nil>", len(sink2.positions)), done2)
	restarts, replayed, err := parseDone(t, pub.until(t, "done"))
	require.Equal(t, "<nil>", err)
	require.Equal(t, int64(1), restarts)
	// The replacement got everything from the first unacknowledged
	// position on, once and in order: every position was delivered at
	// least once, and the duplicates are the unacknowledged window at
	// most. What sink1 acknowledged was not sent again.
	require.NotEmpty(t, sink2.positions)
	first := sink2.positions[0]
	t.Logf("sink1 handled 0..%d, sink2 %d..%d, %d replayed", stall-1, first, n-1, replayed)
	requireRange(t, sink2.positions, first, n)
	require.LessOrEqual(t, first, int64(stall), "a gap between the two subscribers")
	require.GreaterOrEqual(t, first, int64(stall-window), "more duplicates than the window")
	require.GreaterOrEqual(t, replayed, int64(stall)-first, "the duplicates were replayed")
	require.LessOrEqual(t, replayed, int64(window))
}

func TestRestartableStreamIsExactlyOnceWhenTheSubscriberResumes(t *testing.T) {
	const n, stall = 3000, 1000
	sink1 := startRestartMember(t, "sink", restartEnv+"_STALL="+strconv.Itoa(stall))
	pid1 := sink1.until(t, "pid")
	pub := startRestartMember(t, "publisher", restartEnv+"_PEER="+pid1, restartEnv+"_N="+strconv.Itoa(n))
	sink1.until(t, "stalled")
	sink1.kill(t)
	requireRange(t, sink1.positions, 0, stall)

	// The replacement resumes after what sink1 handled (as a sink that
	// records positions durably would): each position exactly once.
	sink2 := startRestartMember(t, "sink", restartEnv+"_FROM="+strconv.Itoa(stall))
	pub.until(t, "reconnecting")
	pub.tell(t, sink2.until(t, "pid"))
	require.Equal(t, fmt.Sprintf("%d <nil>", n-stall), sink2.until(t, "done"))
	restarts, _, err := parseDone(t, pub.until(t, "done"))
	require.Equal(t, "<nil>", err)
	require.Equal(t, int64(1), restarts)
	requireRange(t, sink2.positions, stall, n)
}

func TestRestartableStreamFailsAfterMaxRestarts(t *testing.T) {
	sink1 := startRestartMember(t, "sink", restartEnv+"_STALL=300")
	sink2 := startRestartMember(t, "sink", restartEnv+"_STALL=300")
	pid1, pid2 := sink1.until(t, "pid"), sink2.until(t, "pid")
	pub := startRestartMember(t, "publisher", restartEnv+"_PEER="+pid1, restartEnv+"_MAX=1", restartEnv+"_N=100000")
	pub.tell(t, pid2)
	sink1.until(t, "stalled")
	sink1.kill(t)
	sink2.until(t, "stalled")
	sink2.kill(t)
	restarts, _, err := parseDone(t, pub.until(t, "done"))
	require.Equal(t, int64(1), restarts)
	require.Contains(t, err, ErrRestartsExhausted.Error())
	require.Contains(t, err, "after 1 restarts")
	require.Contains(t, err, ErrStageLost.Error())
	require.Contains(t, err, "terminated")
}
