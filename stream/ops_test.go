package stream

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMapFilterInOrder(t *testing.T) {
	sys := newSystem(t)
	for _, batch := range []int{1, 3, 256} {
		var c collector[int]
		g := Via(FromSlice(ints(1000)), Map(func(x int) int { return x * 2 })).
			Via(Filter(func(x int) bool { return x%3 == 0 })).
			To(c.sink())
		require.NoError(t, run(t, sys, g, Config{Batch: batch}))
		var want []int
		for i := 0; i < 1000; i++ {
			if 2*i%3 == 0 {
				want = append(want, 2*i)
			}
		}
		require.Equal(t, want, c.get(), "batch %d", batch)
	}
}
