package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(context.Background(), &out))
	s := out.String()
	require.Contains(t, s, "Mon 08:00 BST  increment -> denied (outside business hours)")
	require.Contains(t, s, "Mon 09:00 BST  increment -> ok")
	require.Contains(t, s, "Mon 16:00 BST  increment -> ok")
	require.Contains(t, s, "Mon 17:00 BST  increment -> denied")
	require.Contains(t, s, "day done: 12 slots fired, 8 accepted, 4 denied; counter \"reports\" = 8; next slot Mon 2 Jun 20:00 BST")
	require.Contains(t, s, "30 Mar 02:00 BST 31 Mar 01:30 BST")
}
