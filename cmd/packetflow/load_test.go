package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/web"
)

// startNodeAt is startNode with a given HTTP address, so that a restarted
// node answers where the killed one did.
func startNodeAt(t *testing.T, name, httpAddr string, extra ...string) *process {
	t.Helper()
	p := launchNode(t, name, httpAddr, append([]string{"--gossip", clustertest.FreeAddr(t)}, extra...)...)
	poll(t, 30*time.Second, name+" healthy", func() error {
		if code, _, errOut := cli("healthcheck", "--http", p.http, "--timeout", "1s"); code != 0 {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	return p
}

func readHistoryFile(t *testing.T, path string) *history {
	t.Helper()
	h, err := readHistory(path)
	require.NoError(t, err)
	return h
}

func totals(h *history) (ok, failed, unknown int64) {
	for _, c := range h.Counters {
		ok += c.OK
		failed += c.Failed
		unknown += c.Unknown
	}
	return
}

// TestLoadSurvivesSIGKILLAndVerifies runs `packetflow load` against one
// node, kills the node with SIGKILL mid-load and restarts it on the same
// HTTP address, then runs `packetflow verify`. With --data-dir every
// acknowledged increment is there (exit 0); without it the restarted node
// starts from zero and verify names the lost increments (exit 1).
func TestLoadSurvivesSIGKILLAndVerifies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Run("durable", func(t *testing.T) { loadKillVerify(t, true) })
	t.Run("in memory", func(t *testing.T) { loadKillVerify(t, false) })
}

func loadKillVerify(t *testing.T, durable bool) {
	var extra []string
	if durable {
		extra = []string{"--data-dir", t.TempDir()}
	}
	addr := clustertest.FreeAddr(t)
	p := startNodeAt(t, "solo", addr, extra...)
	hist := filepath.Join(t.TempDir(), "history.json")
	seed := fmt.Sprint(time.Now().UnixNano() & 0xffffff)
	t.Logf("seed %s", seed)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"load", "--http", addr, "--token", "alice", "--counters", "10",
			"--concurrency", "4", "--duration", "6s", "--timeout", "1s", "--seed", seed, "--out", hist}, &out, &errOut)
	}()
	// Wait until the load has been acknowledged a fair number of times.
	urls := []string{"http://" + addr}
	poll(t, 20*time.Second, "load makes progress", func() error {
		var sum int64
		for i := range 10 {
			n, err := getCounter(ctx, urls, "alice", fmt.Sprintf("c%d", i), time.Second)
			if err != nil {
				return err
			}
			sum += n
		}
		if sum < 100 {
			return fmt.Errorf("%d increments so far", sum)
		}
		return nil
	})
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_, _ = p.cmd.Process.Wait()
	killed := time.Now()
	startNodeAt(t, "solo", addr, extra...)
	t.Logf("restarted and healthy after %v", time.Since(killed))

	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		t.Fatal("load did not end within 30s")
	}
	t.Logf("load:\n%s%s", out.String(), errOut.String())
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "seed "+seed)
	h := readHistoryFile(t, hist)
	require.Len(t, h.Counters, 10)
	ok, failed, unknown := totals(h)
	t.Logf("history: ok %d, failed %d, unknown %d", ok, failed, unknown)
	require.Positive(t, ok)

	code, vout, verr := cli("verify", "--http", addr, "--token", "alice", "--history", hist, "--timeout", "3s")
	t.Logf("verify (exit %d):\n%s%s", code, vout, verr)
	if durable {
		require.Equal(t, 0, code)
		require.Contains(t, vout, "PASS: all 10 counters")
	} else {
		require.Equal(t, 1, code)
		require.Contains(t, vout, "LOST")
		require.Contains(t, vout, "FAIL:")
	}
}

// TestVerifyFindsViolations: a history that claims more acknowledged
// increments than a counter has is a lost increment; a counter above
// ok+unknown is a phantom; a counter no node answers for is unreadable.
func TestVerifyFindsViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	p := startNodeAt(t, "solo", clustertest.FreeAddr(t))
	for range 3 {
		for _, id := range []string{"c0", "c1", "c3"} {
			_, err := counterCall(p, "Increment", id)
			require.NoError(t, err)
		}
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	bad := write("bad.json", `{"seed":7,"counters":{
		"c0":{"ok":5,"failed":2,"unknown":1},
		"c1":{"ok":1,"failed":0,"unknown":1},
		"c2":{"ok":0,"failed":9,"unknown":0},
		"c3":{"initial":1,"ok":1,"failed":0,"unknown":4}}}`)
	good := write("good.json", `{"seed":7,"counters":{"c0":{"ok":3,"failed":0,"unknown":0},"c1":{"ok":2,"failed":0,"unknown":3},"c2":{"ok":0,"failed":1,"unknown":0}}}`)
	dead := clustertest.FreeAddr(t)

	code, out, errOut := cli("verify", "--http", p.http, "--token", "alice", "--history", bad)
	t.Logf("verify:\n%s%s", out, errOut)
	require.Equal(t, 1, code)
	require.Regexp(t, `(?m)^c0\s+0\s+5\s+1\s+5\.\.6\s+3\s+LOST 2 acknowledged$`, out)
	require.Regexp(t, `(?m)^c1\s+0\s+1\s+1\s+1\.\.2\s+3\s+PHANTOM 1$`, out)
	require.NotContains(t, out, "c2")
	require.NotContains(t, out, "c3", "1+1 ≤ 3 ≤ 1+1+4")
	require.Contains(t, out, "FAIL: 2 of 4 counters")
	require.Contains(t, out, "1 lost, 1 phantom, 0 unreadable")

	// The first URL is dead: each counter is read from the next.
	code, out, errOut = cli("verify", "--http", dead+","+p.http, "--token", "alice", "--history", good, "--timeout", "1s")
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "PASS: all 3 counters")

	code, out, errOut = cli("verify", "--http", dead, "--token", "alice", "--history", good, "--timeout", "1s")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, out, "UNREADABLE")
	require.Contains(t, out, "0 lost, 0 phantom, 3 unreadable")
	require.Contains(t, errOut, dead)
}

func TestLoadAndVerifyRefuseBadUsage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	out := filepath.Join(dir, "out.json")
	malformed := write("malformed.json", `{"seed":1,"counters":{"c0":{"ok":1`)
	empty := write("empty.json", `{"seed":1,"counters":{}}`)
	negative := write("negative.json", `{"seed":1,"counters":{"c0":{"ok":-1,"failed":0,"unknown":0}}}`)
	unknownField := write("unknown.json", `{"seed":1,"counters":{"c0":{"ok":1,"failed":0,"unknown":0,"lost":1}}}`)
	trailing := write("trailing.json", `{"seed":1,"counters":{"c0":{"ok":1,"failed":0,"unknown":0}}} {}`)
	nullCounter := write("null.json", `{"seed":1,"counters":{"c0":null}}`)
	load := func(args ...string) []string { return append([]string{"load", "--token", "t", "--out", out}, args...) }
	verify := func(args ...string) []string { return append([]string{"verify", "--token", "t"}, args...) }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"load", "--out", out}, "--token"},
		{[]string{"load", "--token", "t"}, "--out"},
		{load("--http", "ftp://x"), "ftp://x"},
		{load("--http", "a:1,,b:2"), "not an http(s) URL"},
		{load("--counters", "0"), "--counters"},
		{load("--concurrency", "-1"), "--concurrency"},
		{load("--duration", "0s"), "--duration"},
		{load("--timeout", "0s"), "--timeout"},
		{load("--seed", "minus"), "seed"},
		{load("extra"), "extra"},
		{[]string{"load", "--token", "t", "--out", filepath.Join(dir, "no", "such", "dir", "h.json")}, "--out"},
		{[]string{"verify", "--history", empty}, "--token"},
		{verify(), "--history"},
		{verify("--history", filepath.Join(dir, "missing.json")), "missing.json"},
		{verify("--history", malformed), "malformed.json is not a load history"},
		{verify("--history", empty), "names no counters"},
		{verify("--history", negative), "negative"},
		{verify("--history", unknownField), "lost"},
		{verify("--history", trailing), "data after"},
		{verify("--history", nullCounter), "null"},
		{verify("--history", empty, "--http", "ftp://x"), "ftp://x"},
		{verify("--history", empty, "--timeout", "-1s"), "--timeout"},
		{verify("--history", empty, "extra"), "extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := cli(tt.args...)
			require.Equal(t, 2, code, errOut)
			require.Contains(t, errOut, tt.want)
		})
	}
	_, err := os.Stat(out)
	require.True(t, os.IsNotExist(err), "no history written for a usage error")
}

// TestLoadClassifiesOutcomes runs load against a fake API that answers
// each counter differently, and a dead address, and interrupts it: 200 is
// ok; 403 and a connection that was never made are failed; 503 and no
// answer within --timeout are unknown. The history is still written.
func TestLoadClassifiesOutcomes(t *testing.T) {
	var increments atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req web.IntentRequest
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if req.Type == getType {
			_, _ = w.Write([]byte(`{"type":"packetflow.examples.counter.v1.Value","result":{"counter":"` + req.ID + `","count":"5"}}`))
			return
		}
		increments.Add(1)
		switch req.ID {
		case "c0":
			_, _ = w.Write([]byte(`{"type":"packetflow.examples.counter.v1.Value","result":{}}`))
		case "c1":
			w.WriteHeader(http.StatusForbidden)
		case "c2":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			<-r.Context().Done() // no answer: the client times out
		}
	}))
	defer srv.Close()
	dead := clustertest.FreeAddr(t)
	hist := filepath.Join(t.TempDir(), "h.json")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"load", "--http", srv.URL + "," + dead, "--token", "tok", "--counters", "4",
			"--concurrency", "4", "--duration", "1h", "--timeout", "500ms", "--seed", "42", "--out", hist}, &out, &errOut)
	}()
	poll(t, 20*time.Second, "load sends", func() error {
		if n := increments.Load(); n < 100 {
			return fmt.Errorf("%d increments", n)
		}
		return nil
	})
	cancel() // as SIGINT does
	select {
	case code := <-done:
		require.Equal(t, 0, code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("load did not stop within 10s of the interrupt")
	}
	t.Logf("load:\n%s", out.String())
	require.Contains(t, out.String(), "seed 42")
	require.Contains(t, out.String(), "interrupted after")
	require.Contains(t, out.String(), "failed: not connected")
	require.Contains(t, out.String(), "unknown: timeout")

	h := readHistoryFile(t, hist)
	require.EqualValues(t, 42, h.Seed)
	require.Len(t, h.Counters, 4)
	for id, c := range h.Counters {
		require.EqualValues(t, 5, c.Initial, id)
		require.Positive(t, c.Failed, "%s: the dead address refused some", id)
	}
	// The interrupt may catch one request per sender in flight: unknown,
	// whatever the server would have answered.
	const inFlight = 4
	require.Positive(t, h.Counters["c0"].OK)
	require.LessOrEqual(t, h.Counters["c0"].Unknown, int64(inFlight))
	require.Zero(t, h.Counters["c1"].OK)
	require.LessOrEqual(t, h.Counters["c1"].Unknown, int64(inFlight))
	require.Zero(t, h.Counters["c2"].OK)
	require.Positive(t, h.Counters["c2"].Unknown)
	require.Zero(t, h.Counters["c3"].OK)
	require.Positive(t, h.Counters["c3"].Unknown)
}
