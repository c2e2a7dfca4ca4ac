package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/capability"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

func TestExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lines []string
	res, err := Run(ctx, func(s string) { lines = append(lines, s) })
	require.NoError(t, err, "%v", lines)
	require.ErrorIs(t, res.Denied, capability.ErrPermissionDenied)
	// The boiler climbs one degree a second from 60: its 10 s windows
	// average over 80 from [40 s, 50 s) on; sliding every 5 s to the end.
	require.Equal(t, map[string]int64{"boiler": 8, "kitchen": 0, "cellar": 0}, res.Alerts)
	// 3 sensors × 13 sliding windows (the first starts 5 s before the first
	// reading, the last ends after it).
	require.Equal(t, 39, res.Averages)
}
