package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func members(n int, kinds ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("node-%d", i)] = kinds
	}
	return m
}

func TestPlacementIsDeterministicAndOrderFree(t *testing.T) {
	a := NewPlacement(members(5, "counter"))
	b := NewPlacement(members(5, "counter")) // map order differs run to run
	for i := 0; i < 1000; i++ {
		id := fmt.Sprint("c", i)
		oa, ok := a.Owner("counter", id)
		require.True(t, ok)
		ob, _ := b.Owner("counter", id)
		require.Equal(t, oa, ob)
	}
	// Pinned values: the hash is part of the wire contract between members
	// of different builds; a change here must be deliberate.
	owner, _ := a.Owner("counter", "c1")
	require.Equal(t, pinnedOwnerOfC1, owner)
}

// pinnedOwnerOfC1 is what every build must compute for ("counter", "c1")
// over node-0..node-4.
const pinnedOwnerOfC1 = "node-2"

func TestPlacementOnlyUsesHostsOfTheKind(t *testing.T) {
	p := NewPlacement(map[string][]string{
		"a": {"counter", "volume"},
		"b": {"counter"},
		"c": {"volume"},
	})
	for i := 0; i < 200; i++ {
		o, ok := p.Owner("counter", fmt.Sprint(i))
		require.True(t, ok)
		require.Contains(t, []string{"a", "b"}, o)
		o, _ = p.Owner("volume", fmt.Sprint(i))
		require.Contains(t, []string{"a", "c"}, o)
	}
	_, ok := p.Owner("ghost", "x")
	require.False(t, ok)
	require.Equal(t, []string{"a", "b"}, p.Hosts("counter"))
	_, ok = NewPlacement(nil).Owner("counter", "x")
	require.False(t, ok)
}

func TestPlacementSpreadsIdentities(t *testing.T) {
	for _, n := range []int{3, 5, 10} {
		p := NewPlacement(members(n, "counter"))
		const ids = 20000
		count := map[string]int{}
		for i := 0; i < ids; i++ {
			o, _ := p.Owner("counter", fmt.Sprint("id-", i))
			count[o]++
		}
		require.Len(t, count, n)
		fair := ids / n
		for node, c := range count {
			require.InDelta(t, fair, c, 0.1*float64(fair), "n=%d %s owns %d of %d", n, node, c, ids)
		}
	}
}

func TestPlacementMovesOnlyWhatItMust(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	before := members(5, "counter")
	p := NewPlacement(before)
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%x", r.Uint64())
	}

	// A member leaves: only its identities move.
	gone := fmt.Sprint("node-", r.IntN(5))
	after := map[string][]string{}
	for k, v := range before {
		if k != gone {
			after[k] = v
		}
	}
	q := NewPlacement(after)
	for _, id := range ids {
		was, _ := p.Owner("counter", id)
		now, _ := q.Owner("counter", id)
		if was != gone {
			require.Equal(t, was, now, "identity %s moved although its owner stayed", id)
		} else {
			require.NotEqual(t, gone, now)
		}
	}

	// A member joins: identities move only to it, about 1/6 of them.
	joined := map[string][]string{"node-new": {"counter"}}
	for k, v := range before {
		joined[k] = v
	}
	j := NewPlacement(joined)
	moved := 0
	for _, id := range ids {
		was, _ := p.Owner("counter", id)
		now, _ := j.Owner("counter", id)
		if was != now {
			require.Equal(t, "node-new", now)
			moved++
		}
	}
	require.InDelta(t, len(ids)/6, moved, float64(len(ids))/60)
}

func BenchmarkPlacementOwner(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		p := NewPlacement(members(n, "counter"))
		b.Run(fmt.Sprint("members=", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p.Owner("counter", "counter-42")
			}
		})
	}
}
