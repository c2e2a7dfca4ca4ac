package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/supervision"
)

// NodeStats is the body of GET /v1/stats: one node's runtime counters,
// its active reactor instances by kind and its recent rates. Every member
// serves its own; a dashboard shows other members' when Config.PeerURL
// says where they serve.
type NodeStats struct {
	// Node is the node's runtime name; Member its member id, when known.
	Node   string `json:"node"`
	Member string `json:"member,omitempty"`
	// Stats are the runtime's counters since it started.
	Stats RuntimeStats `json:"stats"`
	// Active counts the active reactor instances by kind.
	Active      map[string]int `json:"active"`
	ActiveTotal int            `json:"active_total"`
	// Rates are intents per second over the last second or so.
	Rates Rates `json:"rates"`
	// Supervision counts supervision decisions, when Config.Supervision is
	// set.
	Supervision *SupervisionStats `json:"supervision,omitempty"`
}

// RuntimeStats are actor.Stats in JSON.
type RuntimeStats struct {
	Handled       uint64 `json:"handled"`
	Failed        uint64 `json:"failed"`
	Denied        uint64 `json:"denied"`
	Unsupported   uint64 `json:"unsupported"`
	Rejected      uint64 `json:"rejected"`
	Expired       uint64 `json:"expired"`
	EffectsRun    uint64 `json:"effects_run"`
	EffectsFailed uint64 `json:"effects_failed"`
	Activations   uint64 `json:"activations"`
}

func runtimeStats(s actor.Stats) RuntimeStats {
	return RuntimeStats{Handled: s.Handled, Failed: s.Failed, Denied: s.Denied, Unsupported: s.Unsupported,
		Rejected: s.Rejected, Expired: s.Expired, EffectsRun: s.EffectsRun, EffectsFailed: s.EffectsFailed,
		Activations: s.Activations}
}

// SupervisionStats are supervision.Stats in JSON.
type SupervisionStats struct {
	Started    int64 `json:"started"`
	Failures   int64 `json:"failures"`
	Restarts   int64 `json:"restarts"`
	Resumes    int64 `json:"resumes"`
	Stops      int64 `json:"stops"`
	Escalation int64 `json:"escalations"`
}

func supervisionStats(s supervision.Stats) SupervisionStats {
	return SupervisionStats{Started: s.Started, Failures: s.Failures, Restarts: s.Restarts, Resumes: s.Resumes,
		Stops: s.Stops, Escalation: s.Escalation}
}

// peerTimeout bounds fetching one member's stats.
const peerTimeout = time.Second

// maxStatsBytes bounds a member's /v1/stats body.
const maxStatsBytes = 1 << 20

// fetchPeers fills in the stats of the live members other than this one
// that Config.PeerURL locates, fetching them concurrently; it returns when
// every fetch has ended (each within peerTimeout).
func (d *dashboard) fetchPeers(ctx context.Context, rows []memberRow) {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range rows {
		row := &rows[i]
		if row.Local || row.Status != "alive" {
			continue
		}
		base := d.peerURL(row.member)
		if base == "" {
			continue
		}
		wg.Go(func() {
			st, err := d.fetchStats(ctx, strings.TrimSuffix(base, "/")+"/v1/stats")
			if err != nil {
				row.StatsErr = truncate(err.Error(), 2*maxEcho)
				return
			}
			row.Stats = st
		})
	}
	wg.Wait()
}

func (d *dashboard) fetchStats(ctx context.Context, url string) (*NodeStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxStatsBytes+1))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	if len(body) > maxStatsBytes {
		return nil, fmt.Errorf("GET %s: body over %d bytes", url, maxStatsBytes)
	}
	var st NodeStats
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	return &st, nil
}
