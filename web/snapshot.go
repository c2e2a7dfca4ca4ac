package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/intent"
)

// ComponentSource lists the node's components for the dashboard (the
// component package's registry, for one). Components is called from
// request goroutines, concurrently; it must be quick and must not block.
type ComponentSource interface {
	Components() []ComponentView
}

// ComponentView is one component as the dashboard shows it.
type ComponentView struct {
	Name string
	// Health is "healthy", "degraded", "unhealthy" or another word; ""
	// shows as "unknown". Anything but "healthy" is an alert.
	Health string
	// Detail says why, for people ("3 restarts in the last minute").
	Detail string
	// ConfigVersion is the version of the component's configuration; 0 is
	// not shown.
	ConfigVersion int64
	// RollbackRequires are the capabilities a viewer needs to roll the
	// component's configuration back. Empty: the dashboard offers no
	// roll-back. It offers one only when the source also implements
	// ComponentRollback.
	RollbackRequires []string
}

// ComponentRollback is implemented by a ComponentSource that can roll a
// component's configuration back to its previous version. The dashboard
// calls it, after checking the component's RollbackRequires, with the
// viewer's context, which the implementation may check again.
type ComponentRollback interface {
	RollbackComponent(ctx context.Context, caller *intent.Context, name string) error
}

// localMember is implemented by nodes that know which member they are
// (cluster.Node).
type localMember interface{ Local() cluster.Member }

// snapshot is what the dashboard shows at one moment. It is shared by
// every viewer's render and never changed once made.
type snapshot struct {
	At      time.Time
	Ready   bool
	Live    int
	Members []memberRow
	// PeerStats: the stats of other members were fetched (Config.PeerURL);
	// otherwise only this node's are shown.
	PeerStats   bool
	Local       NodeStats
	Supervision *SupervisionStats
	Events      []LogEntry
	Alerts      []LogEntry
	Components  []componentRow
	Chaos       *ChaosState // nil: fault injection is off
}

type memberRow struct {
	ID, Name, Address, Status string
	Kinds                     []string
	Local                     bool
	Stats                     *NodeStats // nil: not known here
	StatsErr                  string     // fetching them failed
	member                    cluster.Member
}

type componentRow struct {
	ComponentView
	HealthText string
	Healthy    bool
}

// maxEvents is how many events the dashboard lists.
const maxEvents = 30

// snapshot returns a snapshot at most half a refresh old, making one when
// needed; streams and page loads share it.
func (d *dashboard) snapshot(ctx context.Context) *snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cached != nil && time.Since(d.cached.At) < d.refresh/2 {
		return d.cached
	}
	d.cached = d.compute(ctx)
	return d.cached
}

// invalidate drops the shared snapshot, so that the page after a change
// shows it.
func (d *dashboard) invalidate() {
	d.mu.Lock()
	d.cached = nil
	d.mu.Unlock()
}

func (d *dashboard) compute(ctx context.Context) *snapshot {
	h := d.h
	now := time.Now()
	s := &snapshot{At: now, Ready: h.node.Ready(), Local: d.localStats(now)}
	s.Supervision = s.Local.Supervision

	members := h.node.Members()
	if k, ok := h.node.(knownMembers); ok {
		members = k.KnownMembers()
	}
	self := cluster.Member{Name: h.rt.Name()}
	if l, ok := h.node.(localMember); ok {
		self = l.Local()
	}
	for _, m := range members {
		row := memberRow{ID: m.ID, Name: m.Name, Address: m.Address, Kinds: m.Kinds, Status: strings.ToLower(m.Status.String()), member: m}
		row.Local = m.ID == self.ID || self.ID == "" && m.Name == self.Name
		if row.Local {
			local := s.Local
			row.Stats = &local
		}
		if m.Status.Live() {
			s.Live++
		}
		s.Members = append(s.Members, row)
	}
	slices.SortFunc(s.Members, func(a, b memberRow) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	if d.peerURL != nil {
		s.PeerStats = true
		d.fetchPeers(ctx, s.Members)
	}

	s.Events = d.events.Entries()
	if len(s.Events) > maxEvents {
		s.Events = s.Events[:maxEvents]
	}
	if h.faults != nil {
		st := h.chaosState()
		s.Chaos = &st
	}
	if d.components != nil {
		for _, c := range d.components.Components() {
			row := componentRow{ComponentView: c, HealthText: c.Health, Healthy: c.Health == "healthy"}
			if row.HealthText == "" {
				row.HealthText = "unknown"
			}
			s.Components = append(s.Components, row)
		}
		slices.SortFunc(s.Components, func(a, b componentRow) int { return strings.Compare(a.Name, b.Name) })
	}
	s.Alerts = d.alerts(s, now)
	return s
}

// alerts are the conditions worth a look, most serious first.
func (d *dashboard) alerts(s *snapshot, now time.Time) []LogEntry {
	var out []LogEntry
	add := func(level, source, format string, args ...any) {
		out = append(out, LogEntry{Time: now, Level: level, Source: source, Text: fmt.Sprintf(format, args...)})
	}
	if !s.Ready {
		add("error", "node", "this node is not serving intents: it has not joined, or it sees no majority of the known members")
	}
	for _, m := range s.Members {
		if m.Status != "alive" {
			add("warn", "membership", "member %s (%s) is %s", m.Name, m.ID, m.Status)
		}
		if m.StatsErr != "" {
			add("warn", "dashboard", "stats of member %s: %s", m.Name, m.StatsErr)
		}
	}
	for _, c := range s.Components {
		if !c.Healthy {
			add("warn", "component", "component %s is %s %s", c.Name, c.HealthText, c.Detail)
		}
	}
	if s.Chaos != nil && len(s.Chaos.Rules) > 0 {
		add("warn", "chaos", "fault injection is on: %d rule(s) make this node's reactors fail on purpose", len(s.Chaos.Rules))
	}
	for _, e := range s.Events {
		if e.Level == "warn" && now.Sub(e.Time) < AlertWindow {
			out = append(out, e)
		}
	}
	return out
}

// localStats are this node's own stats at now.
func (d *dashboard) localStats(now time.Time) NodeStats {
	h := d.h
	st := h.rt.Stats()
	ns := NodeStats{Node: h.rt.Name(), Active: map[string]int{}, Stats: runtimeStats(st), Rates: d.meter.observe(now, st)}
	if l, ok := h.node.(localMember); ok {
		ns.Member = l.Local().ID
	}
	for kind := range h.rt.Active() {
		ns.Active[kind]++
		ns.ActiveTotal++
	}
	if h.supervision != nil {
		ss := supervisionStats(h.supervision.Stats())
		ns.Supervision = &ss
	}
	return ns
}

// serveStats serves GET /v1/stats: this node's NodeStats.
func (h *Handler) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.dash.localStats(time.Now()))
}
