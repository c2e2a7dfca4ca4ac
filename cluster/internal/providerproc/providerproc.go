// Package providerproc runs the cluster package's Proto.Actor provider
// scenarios in processes of their own: the test binary re-executed to run
// one scenario. Proto.Actor's remote.Start replaces gRPC's global logger,
// which races with any gRPC goroutine already running in the process, so a
// process may start one Proto.Actor remote in its life.
//
// The parent test calls Start, the re-executed binary's test reads
// Scenario, registers Exit as its first cleanup and runs the scenario.
package providerproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Env names the scenario a re-executed test binary runs.
const Env = "PACKETFLOW_PROVIDER_SCENARIO"

// LeakWait is how long Exit waits for goroutines to end after a scenario.
const LeakWait = 10 * time.Second

// Scenario returns the scenario this process was started to run, or "" in
// an ordinary test run.
func Scenario() string { return os.Getenv(Env) }

// Process is a scenario running in a process of its own.
type Process struct {
	name   string
	stdin  io.WriteCloser
	out    *output
	lines  chan string   // lines of standard output, closed at its end
	exited chan struct{} // closed once err is set
	err    error         // the exit status
}

// Start runs the test named test of this test binary in a new process, with
// Env set to scenario and env added to this process's environment. Its
// standard input stays open until Wait, or until the calling test ends; by
// then it must exit (it is killed after a minute).
func Start(t testing.TB, test, scenario string, env ...string) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
	// Exit waits for the scenario's goroutines to end, so the race
	// detector's one-second pause at exit is not needed.
	cmd.Env = append(os.Environ(), Env+"="+scenario, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=50")
	cmd.Env = append(cmd.Env, env...)
	p := &Process{name: scenario, out: &output{}, lines: make(chan string, 1024), exited: make(chan struct{})}
	cmd.Stderr = p.out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("providerproc: %v", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("providerproc: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("providerproc: starting scenario %q: %v", scenario, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(p.lines)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			fmt.Fprintln(p.out, lines.Text())
			select {
			case p.lines <- lines.Text():
			default: // nobody is waiting for lines any more
			}
		}
	}()
	go func() {
		<-read // cmd.Wait must not close stdout before it is read
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// WaitLine returns the rest of the first line of standard output that
// starts with prefix; after timeout, or if the process ends first, it fails
// the test with the process's output.
func (p *Process) WaitLine(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("scenario %q ended without a line %q; its output:\n%s", p.name, prefix, p.out)
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest
			}
		case <-expired.C:
			t.Fatalf("scenario %q printed no line %q within %v; its output:\n%s", p.name, prefix, timeout, p.out)
		}
	}
}

// Wait closes the scenario's standard input, waits for it to exit and fails
// the test, with its output, if it failed, raced or left goroutines behind.
// With -test.v it logs the output anyway.
func (p *Process) Wait(t testing.TB) {
	t.Helper()
	_ = p.stdin.Close()
	var err error
	select {
	case <-p.exited:
		err = p.err
	case <-time.After(2 * time.Minute):
		err = errors.New("did not exit within 2m")
	}
	if err != nil {
		t.Fatalf("scenario %q: %v; its output:\n%s", p.name, err, p.out)
	}
	if testing.Verbose() {
		t.Logf("scenario %q output:\n%s", p.name, p.out)
	}
}

// Exit ends a scenario process; the scenario's test registers it as its
// first cleanup, so that it runs after all the others. It exits with status
// 1 if the test failed or if goroutines other than Proto.Actor's log
// throttles are still running LeakWait later, 0 otherwise. Those throttles
// (actor.NewThrottle and NewThrottleWithLogger) keep a goroutine for a fixed
// period after their first use — 60 s for the cluster's gossip — which the
// package's leak check in TestMain would report: hence the exit here,
// before TestMain's check.
func Exit(t testing.TB) {
	code := 0
	if t.Failed() {
		code = 1
	} else {
		var err error
		deadline := time.Now().Add(LeakWait)
		for {
			err = goleak.Find(ignoreProtoActorThrottles()...)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	fmt.Printf("scenario exits with status %d\n", code)
	os.Exit(code)
}

// ignoreProtoActorThrottles returns goleak options ignoring the goroutines
// that run Proto.Actor's throttle timers: those whose top frame is in
// actor/throttler.go of protoactor-go. Their function names depend on
// inlining, so they are read from the running stacks.
func ignoreProtoActorThrottles() []goleak.Option {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var opts []goleak.Option
	for _, g := range strings.Split(string(buf), "\n\n") {
		// "goroutine N [state]:", then the top function and its file.
		lines := strings.Split(g, "\n")
		if len(lines) < 3 || !strings.Contains(lines[2], "/protoactor-go@") || !strings.Contains(lines[2], "/actor/throttler.go:") {
			continue
		}
		if i := strings.LastIndex(lines[1], "("); i > 0 {
			opts = append(opts, goleak.IgnoreTopFunction(lines[1][:i]))
		}
	}
	return opts
}

// output collects a scenario process's output.
type output struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
