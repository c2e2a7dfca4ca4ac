package temporal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store/replicated"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
	"github.com/packetflow/packetflow/temporal"
)

// childEnv makes the test binary a cluster member instead of running the
// tests: its value is the member's childConfig, as JSON.
const childEnv = "PF_TEMPORAL_CHILD"

// childConfig is what a child process needs to be a member: a node with
// the real Proto.Actor remote and memberlist on loopback, hosting the
// counter, with a member of the replicated store and the reminder service.
type childConfig struct {
	Name   string
	Dir    string   // the replicated store's directory
	Route  string   // the replicated store's route address
	Routes []string // every member's route address
	Gossip string
	Join   []string
}

// TestReminderSurvivesSIGKILLOfItsMember runs three members as processes
// (this test binary again, see childMain) sharing a replicated store. A
// reminder is registered on one of them, for a counter that member owns;
// that member is killed with SIGKILL before the reminder is due. The
// reminder fires exactly once, from a survivor, and is handled by the
// counter's new owner.
func TestReminderSurvivesSIGKILLOfItsMember(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	seed := testSeed(t)
	victim := rand.New(rand.NewPCG(seed, seed>>32|1)).IntN(3)

	out := newLines()
	routes := replicatedtest.FreeAddrs(t, 3)
	gossip := []string{clustertest.FreeAddr(t), clustertest.FreeAddr(t), clustertest.FreeAddr(t)}
	children := make([]*child, 3)
	for i := range children {
		cfg := childConfig{Name: fmt.Sprintf("n%d", i+1), Dir: t.TempDir(), Route: routes[i], Routes: routes, Gossip: gossip[i]}
		if i > 0 {
			cfg.Join = gossip[:1]
		}
		children[i] = startChild(t, cfg, out)
	}
	started := time.Now()
	for _, c := range children {
		out.wait(t, 50*time.Second, c.name+" ready", func(l line) bool { return l.from == c.name && l.fields[0] == "READY" })
	}
	t.Logf("three members ready after %v", time.Since(started).Round(time.Millisecond))

	// Two reminders are registered on the victim, each for a counter it
	// owns, and it is killed at once. late is due once the survivors have
	// declared it dead: it must be handled exactly once, on the counter's
	// new owner. soon is due before they can have noticed: it fires once,
	// from a survivor, but its intent goes to the dead owner, and whether
	// it is handled depends on whether the transport can tell that it
	// never left (then the cluster routes it again) or not (outcome
	// unknown: an Increment is not idempotent, so it is reported failed
	// and not sent again). Either way it is never handled twice.
	v := children[victim]
	lateID := v.call(t, "owned", "late-")[0]
	soonID := v.call(t, "owned", "soon-")[0]
	v.call(t, "register", "late", lateID, "4000", "late")
	v.call(t, "register", "soon", soonID, "300", "soon")
	require.NoError(t, syscall.Kill(v.cmd.Process.Pid, syscall.SIGKILL))
	killed := time.Now()
	v.reap()
	t.Logf("%s, which registered the reminders and owns counters %s and %s, killed with SIGKILL", v.name, lateID, soonID)

	var survivors []*child
	for i, c := range children {
		if i != victim {
			survivors = append(survivors, c)
		}
	}
	handled := out.wait(t, 30*time.Second, "late handled", func(l line) bool {
		return l.fields[0] == "HANDLED" && l.fields[2] == lateID && l.fields[3] == "late"
	})
	t.Logf("reminder late handled on %s %v after the kill", handled.from, time.Since(killed).Round(time.Millisecond))
	require.NotEqual(t, v.name, handled.from)
	for _, s := range survivors {
		require.Equal(t, handled.from, s.call(t, "owner", lateID)[0], "%s sees %s as the counter's owner", s.name, handled.from)
	}
	soon := out.wait(t, 30*time.Second, "soon's outcome", func(l line) bool {
		return l.fields[0] == "HANDLED" && l.fields[3] == "soon" ||
			l.fields[0] == "EVENT" && l.fields[1] == "failed" && l.fields[2] == "soon"
	})
	t.Logf("reminder soon, due 300ms after the registration: %s", strings.Join(soon.fields, " "))

	// The survivors go on: another reminder, registered on one and due at
	// once, fires through the same counter. By the time it is handled both
	// have polled the store again, and a second firing would show.
	survivors[0].call(t, "register", "after", lateID, "500", "after")
	out.wait(t, 20*time.Second, "after handled", func(l line) bool {
		return l.fields[0] == "HANDLED" && l.fields[2] == lateID && l.fields[3] == "after"
	})
	require.Equal(t, "2", survivors[1].call(t, "get", lateID)[0])
	soonCount := survivors[1].call(t, "get", soonID)[0]
	for _, s := range survivors {
		s.quit(t)
	}

	count := func(match func(l line) bool) int { return len(out.filter(match)) }
	for _, name := range []string{"late", "soon", "after"} {
		require.Equal(t, 1, count(func(l line) bool { return l.fields[0] == "EVENT" && l.fields[1] == "fired" && l.fields[2] == name }),
			"%s fired once cluster-wide:\n%s", name, out)
	}
	require.Equal(t, 1, count(func(l line) bool { return l.fields[0] == "HANDLED" && l.fields[3] == "late" }), "late handled once")
	soonHandled := count(func(l line) bool { return l.fields[0] == "HANDLED" && l.fields[3] == "soon" })
	soonFailed := count(func(l line) bool { return l.fields[0] == "EVENT" && l.fields[1] == "failed" && l.fields[2] == "soon" })
	require.Equal(t, 1, soonHandled+soonFailed, "soon handled once or reported failed once:\n%s", out)
	require.Equal(t, strconv.Itoa(soonHandled), soonCount, "counter %s", soonID)
	require.Zero(t, count(func(l line) bool {
		return l.fields[0] == "EVENT" && (l.fields[1] == "failed" && l.fields[2] != "soon" || l.fields[1] == "missed")
	}), "no other reminder failed or missed:\n%s", out)
}

// line is one line a child printed: its first field says what it is.
type line struct {
	from   string
	fields []string
}

func (l line) String() string { return l.from + ": " + strings.Join(l.fields, " ") }

// lines collects what the children print.
type lines struct{ *watchLog[line] }

func newLines() *lines { return &lines{newWatchLog[line]()} }

// wait returns the first line that matches, waiting up to timeout.
func (o *lines) wait(t *testing.T, timeout time.Duration, what string, match func(line) bool) line {
	t.Helper()
	return o.waitUntil(t, timeout, what, match, func(got []line) bool { return len(got) > 0 })[0]
}

// child is a member running as a child process. It reads commands on its
// standard input, one a line, and answers each with one line starting
// with "="; it prints what its reminder service and counters do as other
// lines. It stops when its standard input closes.
type child struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan []string
	done    chan struct{} // closed once the process has been reaped
}

func startChild(t *testing.T, cfg childConfig, out *lines) *child {
	t.Helper()
	spec, err := json.Marshal(cfg)
	require.NoError(t, err)
	c := &child{name: cfg.Name, replies: make(chan []string, 16), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	logPath := filepath.Join(t.TempDir(), cfg.Name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	c.cmd.Stderr = logFile
	c.cmd.Stdout = &lineWriter{emit: func(s string) {
		fields := strings.Fields(s)
		switch {
		case len(fields) == 0:
		case fields[0] == "=":
			c.replies <- fields[1:]
		default:
			out.add(line{from: c.name, fields: fields})
		}
	}}
	c.stdin, err = c.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		c.reap()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of %s:\n%s", c.name, b)
		}
	})
	return c
}

// reap waits for the process to end, once.
func (c *child) reap() {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Wait()
		close(c.done)
	}
}

// call sends a command and returns its answer's fields; an answer "= err
// ..." fails the test.
func (c *child) call(t *testing.T, args ...string) []string {
	t.Helper()
	_, err := fmt.Fprintln(c.stdin, strings.Join(args, " "))
	require.NoError(t, err, "%s: %v", c.name, args)
	select {
	case reply := <-c.replies:
		require.False(t, len(reply) > 0 && reply[0] == "err", "%s: %v: %v", c.name, args, reply)
		return reply
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer to %v within 30s", c.name, args)
		return nil
	}
}

// quit closes the child's input and waits for it to stop and exit 0.
func (c *child) quit(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case err := <-exited:
		close(c.done)
		require.NoError(t, err, "%s exits 0", c.name)
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-exited
		close(c.done)
		t.Fatalf("%s did not stop within 30s of its input closing", c.name)
	}
}

// lineWriter calls emit with each complete line written to it.
type lineWriter struct {
	buf  bytes.Buffer
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		s := string(w.buf.Next(i + 1))
		w.emit(strings.TrimSuffix(s, "\n"))
	}
}

// childMain runs this process as a member when childEnv is set, and then
// exits; it returns false otherwise.
func childMain() bool {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return false
	}
	var cfg childConfig
	err := json.Unmarshal([]byte(spec), &cfg)
	if err == nil {
		err = runChild(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// runChild is a member's life: start, serve commands until standard input
// closes, stop.
func runChild(cfg childConfig) error {
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := replicated.Open(replicated.Config{Name: cfg.Name, Dir: cfg.Dir, Listen: cfg.Route, Peers: cfg.Routes,
		Replicas: 3, Logger: logger.With("lib", "store")})
	if err != nil {
		return err
	}
	defer st.Close()
	profile := cluster.FastProfile()
	profile.SuspicionMult = 4 // no false deaths on a loaded machine
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{
		Name: cfg.Name, Gossip: cfg.Gossip, Join: cfg.Join, Profile: profile, Logger: logger,
		Runtime: actor.Config{Store: st},
		Define: func(rt *actor.Runtime) error {
			return counter.Define(rt, func(notice string) {
				rest, ok := strings.CutPrefix(notice, "Incrementing counter ")
				if !ok {
					return
				}
				name, _, _ := strings.Cut(rest, " ")
				_, user, _ := strings.Cut(rest, "for user: ")
				say("HANDLED %s %s %s", cfg.Name, name, user)
			})
		},
	})
	if err != nil {
		return err
	}
	defer node.Stop()
	for !node.Ready() || len(node.Members()) != 3 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready with 3 members: ready %v, members %v", node.Ready(), node.Members())
		case <-time.After(20 * time.Millisecond):
		}
	}
	caller, err := node.Runtime().NewContext("reminders", "user:basic")
	if err != nil {
		return err
	}
	rem, err := temporal.StartReminders(node.Runtime().System(), temporal.ReminderConfig{
		Store: st, Shards: 4, Target: node, Caller: caller, Poll: 300 * time.Millisecond, RunTimeout: 20 * time.Second,
		Logger: logger,
		Events: func(e temporal.ReminderEvent) {
			reminder := e.Reminder
			if reminder == "" {
				reminder = "-"
			}
			var due int64
			if !e.Due.IsZero() {
				due = e.Due.UnixNano()
			}
			say("EVENT %s %s %d %v", e.Kind, reminder, due, e.Err)
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rem.Stop(ctx)
	}()
	say("READY %s", node.Local().ID)

	owner := func(id string) (string, error) {
		m, err := node.Owner("counter", id)
		return m.Name, err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		args := strings.Fields(in.Text())
		reply, err := childCommand(node, rem, caller, owner, args)
		if err != nil {
			say("= err %v", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		say("= %s", reply)
	}
	return in.Err()
}

// childCommand runs one command of the parent test:
//
//	owned PREFIX                    the first PREFIXk this member owns
//	owner COUNTER                   the counter's owner's name
//	register NAME COUNTER MS USER   a one-shot reminder, due in MS ms
//	get COUNTER                     the counter's count
func childCommand(node *cluster.Node, rem *temporal.Reminders, caller *intent.Context, owner func(string) (string, error), args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch {
	case len(args) == 2 && args[0] == "owned":
		for k := range 1000 {
			id := args[1] + strconv.Itoa(k)
			o, err := owner(id)
			if err != nil {
				return "", err
			}
			if o == node.Local().Name {
				return id, nil
			}
		}
		return "", errors.New("owns none")
	case len(args) == 2 && args[0] == "owner":
		return owner(args[1])
	case len(args) == 5 && args[0] == "register":
		ms, err := strconv.Atoi(args[3])
		if err != nil {
			return "", err
		}
		due := time.Now().Add(time.Duration(ms) * time.Millisecond)
		return "ok", rem.Register(ctx, args[1], due, 0, &counterpb.Increment{Counter: args[2], UserId: args[4]}, "test")
	case len(args) == 2 && args[0] == "get":
		reply, err := node.Request(ctx, caller, &counterpb.Get{Counter: args[1]})
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(reply.(*counterpb.Value).Count, 10), nil
	}
	return "", fmt.Errorf("unknown command %v", args)
}
