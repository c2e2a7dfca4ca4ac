package wait

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestGroup(t *testing.T) {
	defer goleak.VerifyNone(t)
	var wg sync.WaitGroup
	require.True(t, Group(&wg, time.Second), "an idle group is done at once")
	wg.Add(1)
	require.False(t, Group(&wg, 10*time.Millisecond))
	wg.Done()
	require.True(t, Group(&wg, time.Second))
}
