package stream

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// A sink that requests nothing until the source has sent everything: the
// buffer of 10 in between holds exactly what its strategy keeps, and
// drops exactly the rest.
func TestBufferOverflowStrategiesDropExactly(t *testing.T) {
	const n, size = 1000, 10
	tests := []struct {
		overflow Overflow
		dropped  uint64
		first    int // the elements the sink then receives: first .. first+size-1
	}{
		{OverflowDropOldest, n - size, n - size},
		{OverflowDropNewest, n - size, 0},
		{OverflowDropBuffer, n - size, n - size},
	}
	for _, tt := range tests {
		t.Run(tt.overflow.String(), func(t *testing.T) {
			pr, p := startProbe(t, Via(FromSlice(ints(n)), Buffer[int](size, tt.overflow)), Config{})
			waitFor(t, func() bool { return stageStats(p, 1).In == n },
				func() string { return fmt.Sprintf("%+v", p.Stats()) })
			pr.Request(n)
			for i := 0; i < size; i++ {
				require.Equal(t, tt.first+i, next(t, pr))
			}
			require.NoError(t, pr.ExpectEnd(testContext(t)))
			require.NoError(t, p.Wait(testContext(t)))
			st := stageStats(p, 1)
			require.Equal(t, tt.dropped, st.Dropped)
			require.Equal(t, uint64(size), st.MaxBuffered, "memory is bounded by the buffer")
			require.Equal(t, uint64(size), st.Out)
		})
	}
}

func TestBufferBackpressureLosesNothing(t *testing.T) {
	const n, size = 1000, 10
	pr, p := startProbe(t, Via(FromSlice(ints(n)), Buffer[int](size, OverflowBackpressure)), Config{})
	// A slow sink: one element at a time.
	for i := 0; i < 50; i++ {
		pr.Request(1)
		require.Equal(t, i, next(t, pr))
	}
	pr.Request(n)
	for i := 50; i < n; i++ {
		require.Equal(t, i, next(t, pr))
	}
	require.NoError(t, pr.ExpectEnd(testContext(t)))
	require.NoError(t, p.Wait(testContext(t)))
	st := stageStats(p, 1)
	require.Zero(t, st.Dropped)
	require.LessOrEqual(t, st.MaxBuffered, uint64(size))
	require.LessOrEqual(t, stageStats(p, 0).Out, uint64(n))
}

func TestBufferFail(t *testing.T) {
	pr, p := startProbe(t, Via(FromSlice(ints(100)), Buffer[int](10, OverflowFail)), Config{})
	require.ErrorIs(t, pr.ExpectEnd(testContext(t)), ErrBufferOverflow)
	err := p.Wait(testContext(t))
	require.ErrorIs(t, err, ErrBufferOverflow)
	var se *StageError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "1-buffer-fail", se.Stage)
}

// A slow sink under an endless fast source: whatever the strategy, the
// buffer never holds more than its size.
func TestBufferBoundedUnderSlowSink(t *testing.T) {
	for _, o := range []Overflow{OverflowBackpressure, OverflowDropOldest, OverflowDropNewest, OverflowDropBuffer} {
		t.Run(o.String(), func(t *testing.T) {
			i := 0
			src := Generate(func() (int, bool) { i++; return i, true })
			pr, p := startProbe(t, Via(src, Buffer[int](16, o)), Config{})
			last := 0
			for k := 0; k < 30; k++ {
				pr.Request(1)
				x := next(t, pr)
				require.Greater(t, x, last, "order kept, whatever was dropped")
				last = x
			}
			require.LessOrEqual(t, stageStats(p, 1).MaxBuffered, uint64(16))
		})
	}
}

func TestBufferRestartDropsItsState(t *testing.T) {
	pr, p := startProbe(t, Via(FromSlice(ints(1000)), Buffer[int](5, OverflowFail, Supervise(RestartAlways))), Config{})
	waitFor(t, func() bool { return stageStats(p, 1).In == 1000 }, func() string { return fmt.Sprintf("%+v", p.Stats()) })
	pr.Request(100)
	for _, want := range []int{996, 997, 998, 999} {
		require.Equal(t, want, next(t, pr))
	}
	require.NoError(t, pr.ExpectEnd(testContext(t)))
	st := stageStats(p, 1)
	require.Equal(t, uint64(166), st.Restarts)
	require.Equal(t, uint64(830), st.Dropped)
}
