package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/cluster/clustertest"
)

// The in-process chaos suite passes under its faults (handler panics,
// actor stops, a partitioned member that must rejoin by itself, a killed
// member), and says so with its seed.
func TestChaosSuitePasses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a chaos suite for 6 s")
	}
	const seed = "20261128"
	t.Logf("seed %s", seed)
	code, out, errOut := cli("chaos", "--duration", "6s", "--seed", seed, "--concurrency", "4")
	t.Log(out)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	require.Contains(t, out, "chaos: PASS (seed "+seed+")")
	require.Contains(t, out, "1 partition, 1 kill")
	require.Contains(t, out, "dropped and")
	require.Contains(t, out, "reactor instances stopped")
	require.Contains(t, out, "lost before their handler")
	require.NotContains(t, out, "VIOLATED")
	for _, inv := range []string{"answered before its deadline", "all members serve again", "answers within", "one active owner per counter", "no acknowledged increment lost", "nothing invented"} {
		require.Contains(t, out, inv)
	}
	require.False(t, strings.Contains(out, " 0 handler panics"), "panics were injected")
}

func TestChaosRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "1s"}, {"--panic-rate", "1.5"}, {"--counters", "0"}, {"--concurrency", "-1"},
		{"--timeout", "0s"}, {"extra"}, {"--seed", "x"}, {"--net-fault-rate", "0.9"},
	} {
		code, _, errOut := cli(append([]string{"chaos"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
	}
}

// A node started with --chaos takes fault rules from a principal holding
// chaos:inject; one without answers that injection is off.
func TestChaosInjectIntoARunningNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	grants := filepath.Join(t.TempDir(), "grants.json")
	require.NoError(t, os.WriteFile(grants, []byte(`{"principals":[
		{"name":"operator","token":"op-token","capabilities":["chaos:inject"]}]}`), 0o600))
	on := startNode(t, "on", "--gossip", clustertest.FreeAddr(t), "--grants", grants, "--chaos")
	off := startNode(t, "off", "--gossip", clustertest.FreeAddr(t), "--grants", grants)
	for _, p := range []*process{on, off} {
		poll(t, 20*time.Second, p.name+" healthy", func() error {
			if code, _, errOut := cli("healthcheck", "--http", p.http, "--timeout", "1s"); code != 0 {
				return fmt.Errorf("%s", errOut)
			}
			return nil
		})
	}
	_, err := counterCall(on, "Increment", "k")
	require.NoError(t, err)

	code, _, errOut := cli("chaos", "inject", "--http", on.http, "--token", "alice", "--rules", `[{"rate":1,"action":"panic"}]`)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "403 permission_denied")

	code, out, errOut := cli("chaos", "inject", "--http", on.http, "--token", "op-token",
		"--rules", `[{"kind":"counter","type":"Increment","rate":1,"action":"panic"}]`)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `"action":"panic"`)
	_, err = counterCall(on, "Increment", "k")
	require.ErrorContains(t, err, "fault: injected panic")
	got, err := counterCall(on, "Get", "k")
	require.NoError(t, err)
	require.EqualValues(t, 1, got, "the failed handler changed nothing")

	code, out, errOut = cli("chaos", "status", "--http", on.http, "--token", "op-token")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `"injected":{"panic":1}`)
	code, _, errOut = cli("chaos", "inject", "--http", on.http, "--token", "op-token", "--rules", `[]`)
	require.Equal(t, 0, code, errOut)
	got, err = counterCall(on, "Increment", "k")
	require.NoError(t, err)
	require.EqualValues(t, 2, got)

	// A stop rule stops the reactor after the intent: this node keeps
	// state in memory, so the next activation starts from zero.
	code, _, errOut = cli("chaos", "inject", "--http", on.http, "--token", "op-token",
		"--rules", `[{"kind":"counter","type":"Increment","rate":1,"action":"stop"}]`)
	require.Equal(t, 0, code, errOut)
	got, err = counterCall(on, "Increment", "k")
	require.NoError(t, err)
	require.EqualValues(t, 3, got, "the intent that triggers the stop is handled")
	require.Eventually(t, func() bool {
		got, err := counterCall(on, "Get", "k")
		return err == nil && got == 0
	}, 5*time.Second, 20*time.Millisecond, "the stopped counter's memory state is gone")
	code, _, errOut = cli("chaos", "inject", "--http", on.http, "--token", "op-token", "--rules", `[]`)
	require.Equal(t, 0, code, errOut)

	code, _, errOut = cli("chaos", "inject", "--http", off.http, "--token", "op-token", "--rules", `[]`)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "fault injection is off")
	code, _, _ = cli("chaos", "inject", "--http", on.http, "--token", "op-token")
	require.Equal(t, 2, code, "--rules is required")
	code, _, _ = cli("chaos", "inject", "--http", on.http, "--token", "op-token", "--rules", "{")
	require.Equal(t, 2, code)
	b, err := os.ReadFile(on.log)
	require.NoError(t, err)
	require.Contains(t, string(b), "CHAOS: --chaos: fault injection is ON", "loudly logged")
}
