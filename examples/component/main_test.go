package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func TestExampleRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out))
	t.Log(out.String())
	for _, want := range []string{
		"Hello, Ada! (visit 1)",
		"Bonjour, Ada. (visit 2)",
		`refused: config: field "punctuation"`,
		"Hello, Ada! (visit 3)",
		"config version 3 (rollback)",
		"greet while stopped: component: not running: greeter",
	} {
		require.Contains(t, out.String(), want)
	}
}
