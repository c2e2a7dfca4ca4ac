package actor

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueueIsFIFOAcrossGrowthAndWrapAround(t *testing.T) {
	var q queue
	require.Nil(t, q.pop())
	next, want := 0, 0
	for round := 0; round < 50; round++ {
		for i := 0; i < round%13+1; i++ {
			q.push(next)
			next++
		}
		if round%5 == 0 {
			for _, m := range q.drain(nil) {
				require.Equal(t, want, m)
				want++
			}
		}
		for i := 0; i < round%7+1; i++ {
			if m := q.pop(); m != nil {
				require.Equal(t, want, m)
				want++
			}
		}
	}
	for m := q.pop(); m != nil; m = q.pop() {
		require.Equal(t, want, m)
		want++
	}
	require.Equal(t, next, want)
}

func TestQueueManyProducersOneConsumer(t *testing.T) {
	var q queue
	const producers, each = 8, 2000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				q.push([2]int{p, i})
			}
		}(p)
	}
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	got := 0
	for got < producers*each {
		m := q.pop()
		if m == nil {
			continue
		}
		v := m.([2]int)
		require.Greater(t, v[1], last[v[0]], "per-producer order kept")
		last[v[0]] = v[1]
		got++
	}
	wg.Wait()
	require.Nil(t, q.pop())
}
