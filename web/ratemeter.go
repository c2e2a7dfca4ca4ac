package web

import (
	"sync"
	"time"

	"github.com/packetflow/packetflow/actor"
)

// Rates are intents per second over a recent window.
type Rates struct {
	Handled float64 `json:"handled"`
	Denied  float64 `json:"denied"`
	Failed  float64 `json:"failed"`
	// WindowSeconds is the window the rates are averaged over; 0 means
	// there was no earlier sample to compare with (the rates are then 0).
	WindowSeconds float64 `json:"window_seconds"`
}

// rateMeter turns samples of the runtime's counters into rates. It keeps
// the samples of the last minute and starts no goroutine: whoever looks
// (the dashboard's streams, a peer's GET /v1/stats) takes a sample, so
// while someone watches the window is about a second, and after a quiet
// spell the first look averages over the time since the last one.
type rateMeter struct {
	mu      sync.Mutex // guards samples
	samples []rateSample
}

type rateSample struct {
	at    time.Time
	stats actor.Stats
}

// minWindow is the shortest window rates are averaged over, when older
// samples exist.
const minWindow = time.Second

// maxSamples bounds the samples kept.
const maxSamples = 128

// observe records s at now and returns the rates since the newest sample
// at least minWindow old (or the oldest there is).
func (m *rateMeter) observe(now time.Time, s actor.Stats) Rates {
	m.mu.Lock()
	defer m.mu.Unlock()
	var base *rateSample
	for i := len(m.samples) - 1; i >= 0; i-- {
		if now.Sub(m.samples[i].at) >= minWindow {
			base = &m.samples[i]
			break
		}
	}
	if base == nil && len(m.samples) > 0 && now.After(m.samples[0].at) {
		base = &m.samples[0]
	}
	var r Rates
	if base != nil {
		dt := now.Sub(base.at).Seconds()
		per := func(cur, old uint64) float64 {
			if cur < old {
				return 0
			}
			return float64(cur-old) / dt
		}
		r = Rates{Handled: per(s.Handled, base.stats.Handled), Denied: per(s.Denied, base.stats.Denied),
			Failed: per(s.Failed, base.stats.Failed), WindowSeconds: dt}
	}
	// Keep a minute of samples, at most maxSamples, but always the newest
	// one at least minWindow old.
	keepFrom := 0
	for keepFrom < len(m.samples)-1 && now.Sub(m.samples[keepFrom+1].at) >= minWindow &&
		(now.Sub(m.samples[keepFrom].at) > time.Minute || len(m.samples) >= maxSamples) {
		keepFrom++
	}
	m.samples = append(m.samples[keepFrom:], rateSample{at: now, stats: s})
	if len(m.samples) > maxSamples {
		m.samples = m.samples[len(m.samples)-maxSamples:]
	}
	return r
}
