package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmbeddedSingleNode(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &out))
	require.Contains(t, out.String(), "c1 = 2 (owned by ")
	require.Contains(t, out.String(), ", 1 members)")
	require.Contains(t, out.String(), "alice resets c1: permission denied: missing user:admin")
}
