package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Proto.Actor's dead-letter throttle parks a goroutine for its
		// interval (1s) after the first dead letter; it is not ours to stop.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
	)
}

// TestOnce runs the panel the way `go run ./examples/web -once` does: it
// starts, serves, is used through its forms as alice and as admin, and
// stops.
func TestOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"-http", "127.0.0.1:0", "-once"}, &out, &errOut)
	require.NoError(t, err, "stderr: %s", errOut.String())
	require.Contains(t, out.String(), "alice: counts and +1, no Admin Panel, reset refused (403)")
	require.Contains(t, out.String(), "admin: Admin Panel, reset all, dashboard with fault injection")
}

func TestBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Error(t, run(context.Background(), []string{"-http", "nonsense"}, &out, &errOut))
	require.ErrorContains(t, run(context.Background(), []string{"extra"}, &out, &errOut), `unexpected argument "extra"`)
	require.Error(t, run(context.Background(), []string{"-nope"}, &out, &errOut))
}
