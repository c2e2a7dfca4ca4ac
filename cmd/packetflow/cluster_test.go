package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/cluster/tlstest"
	"github.com/packetflow/packetflow/web"
)

// runMainEnv makes the test binary act as the packetflow binary: the
// multi-process tests start nodes by running it again with this set.
const runMainEnv = "PACKETFLOW_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// process is one `packetflow node` running as a child process.
type process struct {
	name, http string
	cmd        *exec.Cmd
	log        string
}

// startNode starts `packetflow node` named name on a free HTTP address with
// extra flags; the node is killed when the test ends.
func startNode(t *testing.T, name string, extra ...string) *process {
	t.Helper()
	return launchNode(t, name, clustertest.FreeAddr(t), extra...)
}

// launchNode is startNode with a given HTTP address.
func launchNode(t *testing.T, name, httpAddr string, extra ...string) *process {
	t.Helper()
	p := &process{name: name, http: httpAddr, log: filepath.Join(t.TempDir(), name+".log")}
	out, err := os.Create(p.log)
	require.NoError(t, err)
	args := append([]string{"node", "--name", name, "--dev", "--profile", "fast",
		"--bind", clustertest.FreeAddr(t), "--http", p.http}, extra...)
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_, _ = p.cmd.Process.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("log of %s:\n%s", name, b)
		}
	})
	return p
}

// cli runs a client command of the binary in process and returns its exit
// code and output.
func cli(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// poll calls cond until it returns nil or timeout passes, then fails with
// its last error.
func poll(t *testing.T, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func members(p *process) ([]web.MemberInfo, error) {
	code, out, errOut := cli("members", "--http", p.http)
	if code != 0 {
		return nil, fmt.Errorf("members: %s", errOut)
	}
	var resp web.MembersResponse
	body, err := httpGet("http://" + p.http + "/v1/members")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	if !strings.Contains(out, p.name) {
		return nil, fmt.Errorf("members table lacks %s:\n%s", p.name, out)
	}
	return resp.Members, nil
}

func counterCall(p *process, typ, id string) (int64, error) {
	code, out, errOut := cli("send", "--http", p.http, "--token", "alice", "--kind", "counter", "--id", id,
		"--type", "packetflow.examples.counter.v1."+typ, "--timeout", "3s")
	if code != 0 {
		return 0, fmt.Errorf("%s %s through %s: %s", typ, id, p.name, strings.TrimSpace(errOut))
	}
	var resp struct {
		Result struct {
			Count string `json:"count"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		return 0, fmt.Errorf("reply %q: %w", out, err)
	}
	return strconv.ParseInt(resp.Result.Count, 10, 64)
}

// TestClusterOfProcessesSurvivesSIGKILL runs three `packetflow node`
// processes on loopback, sends intents through each one's HTTP API, kills
// one with SIGKILL and checks that every counter answers again from the
// survivors. With state in memory, those the victim owned start afresh;
// with the replicated store, every counter keeps its acknowledged count.
func TestClusterOfProcessesSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Run("in memory", func(t *testing.T) { survivesSIGKILL(t, nil, false) })
	t.Run("replicated store", func(t *testing.T) { survivesSIGKILL(t, nil, true) })
	t.Run("replicated store, mutual TLS and gossip key", func(t *testing.T) { survivesSIGKILL(t, secure(t), true) })
}

// secure writes a CA, a certificate and key per node (for 127.0.0.1) and a
// gossip key, and returns each node's security flags.
func secure(t *testing.T) func(name string) []string {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "packetflow-test-ca")
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.PEM(), 0o600))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	return func(name string) []string {
		certPEM, keyPEM := tlstest.PEM(t, ca.Issue(t, name, "127.0.0.1"))
		certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
		require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
		return []string{"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile, "--gossip-key", key}
	}
}

func survivesSIGKILL(t *testing.T, security func(name string) []string, replicated bool) {
	routes := []string{clustertest.FreeAddr(t), clustertest.FreeAddr(t), clustertest.FreeAddr(t)}
	flags := func(name string, extra ...string) []string {
		if security != nil {
			extra = append(extra, security(name)...)
		}
		if replicated {
			i := int(name[1] - '1')
			extra = append(extra, "--data-dir", t.TempDir(), "--store", "replicated",
				"--store-listen", routes[i], "--store-peers", strings.Join(routes, ","))
		}
		return extra
	}
	gossip1 := clustertest.FreeAddr(t)
	n1 := startNode(t, "n1", flags("n1", "--gossip", gossip1)...)
	n2 := startNode(t, "n2", flags("n2", "--gossip", clustertest.FreeAddr(t), "--join", gossip1)...)
	n3 := startNode(t, "n3", flags("n3", "--gossip", clustertest.FreeAddr(t), "--join", gossip1)...)
	nodes := []*process{n1, n2, n3}

	var ids map[string]string // member name → id
	for _, p := range nodes {
		took := poll(t, 30*time.Second, p.name+" healthy with 3 members", func() error {
			if code, _, errOut := cli("healthcheck", "--http", p.http, "--timeout", "1s"); code != 0 {
				return fmt.Errorf("%s", errOut)
			}
			ms, err := members(p)
			if err != nil {
				return err
			}
			if len(ms) != 3 {
				return fmt.Errorf("%d members", len(ms))
			}
			ids = map[string]string{}
			for _, m := range ms {
				ids[m.Name] = m.ID
			}
			return nil
		})
		t.Logf("%s ready after %v more", p.name, took)
	}

	counters := make([]string, 30)
	for i := range counters {
		counters[i] = fmt.Sprintf("c%d", i)
		got, err := counterCall(nodes[i%3], "Increment", counters[i])
		require.NoError(t, err)
		require.EqualValues(t, 1, got)
	}

	// Where each counter lives, computed as the nodes do.
	placement := cluster.NewPlacement(map[string][]string{
		ids["n1"]: {"counter"}, ids["n2"]: {"counter"}, ids["n3"]: {"counter"}})
	victim := n2
	var lost int
	for _, c := range counters {
		if owner, _ := placement.Owner("counter", c); owner == ids[victim.name] {
			lost++
		}
	}
	require.NotZero(t, lost, "the victim owns some counters")

	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	var first time.Duration
	for _, c := range counters {
		owner, _ := placement.Owner("counter", c)
		via := n1
		if c[len(c)-1]%2 == 0 {
			via = n3
		}
		var got int64
		poll(t, 20*time.Second, "counter "+c+" answers after the kill", func() error {
			var err error
			got, err = counterCall(via, "Get", c)
			return err
		})
		if owner == ids[victim.name] {
			if first == 0 {
				first = time.Since(killed)
			}
			if replicated {
				require.EqualValues(t, 1, got, "counter %s re-activated on a survivor with its acknowledged count", c)
			} else {
				require.EqualValues(t, 0, got, "counter %s re-activated on a survivor, afresh", c)
			}
		} else {
			require.EqualValues(t, 1, got, "counter %s kept its count on a live owner", c)
		}
	}
	t.Logf("SIGKILL of %s: first of its %d counters answered after %v, all 30 after %v", victim.name, lost, first, time.Since(killed))
	poll(t, 20*time.Second, "survivors see 2 members", func() error {
		for _, p := range []*process{n1, n3} {
			ms, err := members(p)
			if err != nil {
				return err
			}
			// The victim stays listed as dead: it counts for the quorum
			// until a new process of its name joins.
			status := map[string]string{}
			for _, m := range ms {
				status[m.Name] = m.Status
			}
			want := map[string]string{"n1": "alive", "n2": "dead", "n3": "alive"}
			if fmt.Sprint(status) != fmt.Sprint(want) {
				return fmt.Errorf("%s sees %v", p.name, status)
			}
		}
		return nil
	})

	// A graceful stop: SIGTERM makes a node leave and exit 0.
	require.NoError(t, n3.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- n3.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "n3 exits 0 after SIGTERM")
	case <-time.After(20 * time.Second):
		t.Fatal("n3 did not stop within 20s of SIGTERM")
	}
}

func httpGet(u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var body json.RawMessage
	if err := call(ctx, "GET", u, "", nil, &body); err != nil {
		return nil, err
	}
	return body, nil
}

func TestNodeRefusesBadFlagsAndGrants(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`{"principals":[{"name":"alice","token":"t","capabilities":["user:"]}]}`), 0o600))
	unknownField := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknownField, []byte(`{"principals":[],"extra":1}`), 0o600))
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"node", "--bind", "nope"}, 2, "--bind"},
		{[]string{"node", "--gossip", "1.2.3.4"}, 2, "--gossip"},
		{[]string{"node", "--http", ""}, 2, "--http"},
		{[]string{"node", "--join", "a:1,b"}, 2, "--join"},
		{[]string{"node", "--advertise", "not-an-ip"}, 2, "--advertise"},
		{[]string{"node", "--profile", "slow"}, 2, "--profile"},
		{[]string{"node", "--gossip-key", "!!"}, 2, "--gossip-key"},
		{[]string{"node", "--gossip-key", "c2hvcnQ="}, 2, "--gossip-key"},
		{[]string{"node", "--tls-cert", "a.pem"}, 2, "--tls-cert"},
		{[]string{"node", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"node", "--nope"}, 2, "nope"},
		{[]string{"node", "extra"}, 2, "extra"},
		{[]string{"node", "--grants", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
		{[]string{"node", "--grants", badJSON}, 1, "bad.json"},
		{[]string{"node", "--grants", unknownField}, 1, "unknown.json"},
		{[]string{"node", "--tls-cert", "a", "--tls-key", "b", "--tls-ca", "c"}, 1, "a"},
		{[]string{"send", "--kind", "counter"}, 2, "required"},
		{[]string{"send", "--kind", "k", "--id", "i", "--type", "t", "--data", "{"}, 2, "--data"},
		{[]string{"send", "--http", "ftp://x", "--kind", "k", "--id", "i", "--type", "t"}, 2, "--http"},
		{[]string{"members", "--timeout", "0s"}, 2, "--timeout"},
		{[]string{"healthcheck", "extra"}, 2, "extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := cli(tt.args...)
			require.Equal(t, tt.code, code, errOut)
			require.Contains(t, errOut, tt.want)
		})
	}
}

func TestClientsReportUnreachableNodes(t *testing.T) {
	dead := clustertest.FreeAddr(t) // nothing listens there
	for _, args := range [][]string{
		{"healthcheck", "--http", dead, "--timeout", "1s"},
		{"members", "--http", dead, "--timeout", "1s"},
		{"send", "--http", dead, "--timeout", "1s", "--token", "t", "--kind", "counter", "--id", "c1", "--type", "x"},
	} {
		code, _, errOut := cli(args...)
		require.Equal(t, 1, code, "%v: %s", args, errOut)
		require.NotEmpty(t, errOut)
	}
}

// TestNodeStateSurvivesSIGKILL: a single node with --data-dir is killed
// with SIGKILL after acknowledging increments, restarted on the same
// directory, and finds every counter as it left it.
func TestNodeStateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	start := func() *process {
		p := startNode(t, "solo", "--gossip", clustertest.FreeAddr(t), "--data-dir", dir)
		poll(t, 20*time.Second, "solo healthy", func() error {
			if code, _, errOut := cli("healthcheck", "--http", p.http, "--timeout", "1s"); code != 0 {
				return fmt.Errorf("%s", errOut)
			}
			return nil
		})
		return p
	}
	p := start()
	acked := map[string]int64{}
	for i := range 60 {
		id := fmt.Sprintf("c%d", i%20)
		got, err := counterCall(p, "Increment", id)
		require.NoError(t, err)
		acked[id]++
		require.Equal(t, acked[id], got)
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_, _ = p.cmd.Process.Wait()

	p = start()
	for id, want := range acked {
		got, err := counterCall(p, "Get", id)
		require.NoError(t, err)
		require.Equal(t, want, got, "counter %s after SIGKILL and restart", id)
	}
}

func TestNodeRefusesADamagedDataFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "packetflow.db"), []byte("this is not a bbolt file, not even close to one"), 0o600))
	code, _, errOut := cli("node", "--name", "x", "--data-dir", dir, "--bind", clustertest.FreeAddr(t), "--gossip", clustertest.FreeAddr(t), "--http", clustertest.FreeAddr(t))
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, filepath.Join(dir, "packetflow.db"))
	b, err := os.ReadFile(filepath.Join(dir, "packetflow.db"))
	require.NoError(t, err)
	require.Equal(t, "this is not a bbolt file, not even close to one", string(b), "never reset")
}
