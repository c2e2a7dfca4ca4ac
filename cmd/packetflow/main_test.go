package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDemoRunsTheQuickStart(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"demo"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "alice resets           -> denied: permission denied: missing user:admin")
	require.Contains(t, out.String(), "root increments        -> ok, count = 1")
}

func TestBadInvocationsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"demo", "--nope"}, {"demo", "extra"}} {
		var out, errOut bytes.Buffer
		require.Equal(t, 2, run(context.Background(), args, &out, &errOut), "args %q", args)
		require.NotEmpty(t, errOut.String(), "args %q must explain the error", args)
	}
}
