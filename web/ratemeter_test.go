package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
)

func TestRateMeter(t *testing.T) {
	var m rateMeter
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	require.Equal(t, Rates{}, m.observe(at(0), actor.Stats{}), "no earlier sample: no rate")
	// Half a second later: averaged over what there is.
	r := m.observe(at(500), actor.Stats{Handled: 5, Denied: 1})
	require.InDelta(t, 10, r.Handled, 1e-9)
	require.InDelta(t, 2, r.Denied, 1e-9)
	require.InDelta(t, 0.5, r.WindowSeconds, 1e-9)
	// Later samples compare with the newest one at least a second old.
	r = m.observe(at(1000), actor.Stats{Handled: 10, Denied: 1})
	require.InDelta(t, 10, r.Handled, 1e-9)
	require.InDelta(t, 1, r.WindowSeconds, 1e-9)
	r = m.observe(at(2000), actor.Stats{Handled: 40, Denied: 1, Failed: 3})
	require.InDelta(t, 30, r.Handled, 1e-9)
	require.InDelta(t, 0, r.Denied, 1e-9)
	require.InDelta(t, 3, r.Failed, 1e-9)
	// After a quiet spell: the average since the last look.
	r = m.observe(at(62000), actor.Stats{Handled: 640})
	require.InDelta(t, 10, r.Handled, 1e-9)
	require.InDelta(t, 60, r.WindowSeconds, 1e-9)
	// A counter going backwards (a restarted runtime) is no negative rate.
	r = m.observe(at(63000), actor.Stats{Handled: 1})
	require.Zero(t, r.Handled)
}

func TestRateMeterBoundsItsSamples(t *testing.T) {
	var m rateMeter
	t0 := time.Now()
	for i := range 10 * maxSamples {
		m.observe(t0.Add(time.Duration(i)*10*time.Millisecond), actor.Stats{Handled: uint64(i)})
		require.LessOrEqual(t, len(m.samples), maxSamples)
	}
	r := m.observe(t0.Add(time.Duration(10*maxSamples)*10*time.Millisecond), actor.Stats{Handled: uint64(10 * maxSamples)})
	require.InDelta(t, 100, r.Handled, 1e-6, "10 ms apart, one intent each: 100/s")
	require.GreaterOrEqual(t, r.WindowSeconds, 1.0)
}
