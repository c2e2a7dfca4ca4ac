package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The in-process chaos suite passes under its faults (handler panics, a
// partitioned member, a killed member), and says so with its seed.
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
	require.NotContains(t, out, "VIOLATED")
	for _, inv := range []string{"answered before its deadline", "answers within", "no acknowledged increment lost", "nothing invented"} {
		require.Contains(t, out, inv)
	}
	require.False(t, strings.Contains(out, " 0 handler panics"), "panics were injected")
}

func TestChaosRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "1s"}, {"--panic-rate", "1.5"}, {"--counters", "0"}, {"--concurrency", "-1"},
		{"--timeout", "0s"}, {"extra"}, {"--seed", "x"},
	} {
		code, _, errOut := cli(append([]string{"chaos"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
	}
}
