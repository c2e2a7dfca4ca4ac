package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/supervision/fault"
)

// dashboard serves the node's dashboard at / and its live stream.
type dashboard struct {
	h          *Handler
	refresh    time.Duration
	peerURL    func(cluster.Member) string // nil: only this node's stats
	client     *http.Client                // fetches peers' stats; idle connections closed by Close
	meter      rateMeter
	events     *EventLog
	components ComponentSource // nil: "no components"
	streams    chan struct{}   // a token per open stream, bounding them
	done       chan struct{}   // closed by Handler.Close: open streams end

	mu     sync.Mutex // guards cached; held while a snapshot is made
	cached *snapshot
}

// Dashboard defaults (see Config).
const (
	DefaultDashboardRefresh = time.Second
	MinDashboardRefresh     = 10 * time.Millisecond
	// MaxStreams bounds the dashboards watching a node live at once; more
	// are answered 503 (their pages still load and can be reloaded).
	MaxStreams = 64
)

// dashboardView is a snapshot as one viewer sees it.
type dashboardView struct {
	*snapshot
	// CanRollback says, by component name, whether the viewer may roll
	// its configuration back.
	CanRollback map[string]bool
}

// dashboardComponents are the capability-aware pieces of the dashboard.
func dashboardComponents() ([]Component, error) {
	var cs []Component
	for _, c := range []struct {
		name, file string
		requires   []string
	}{
		{"chaos-admin", "assets/component-chaos-admin.html", []string{ChaosCapability}},
		{"chaos-rules", "assets/component-chaos-rules.html", []string{ChaosCapability}},
	} {
		text, err := assets.ReadFile(c.file)
		if err != nil {
			return nil, err
		}
		cs = append(cs, Component{Name: c.name, Requires: c.requires, Template: string(text)})
	}
	return cs, nil
}

// pageFuncs are the helpers of the node's page templates.
var pageFuncs = template.FuncMap{
	"join":  strings.Join,
	"rate":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
}

// view is s as r's caller sees it.
func (d *dashboard) view(r *http.Request, s *snapshot) dashboardView {
	v := dashboardView{snapshot: s, CanRollback: map[string]bool{}}
	if _, ok := d.components.(ComponentRollback); ok {
		caller := Caller(r)
		for _, c := range s.Components {
			v.CanRollback[c.Name] = len(c.RollbackRequires) > 0 && d.h.comps.Holds(caller, c.RollbackRequires...)
		}
	}
	return v
}

// serveDashboard serves GET /: the whole dashboard, rendered on the
// server, so that it reads the same without JavaScript.
func (h *Handler) serveDashboard(w http.ResponseWriter, r *http.Request) {
	s := h.dash.snapshot(r.Context())
	h.pages.render(w, r, http.StatusOK, "dashboard", "Dashboard", h.dash.view(r, s))
}

// serveChaosForm serves POST /dashboard/chaos, the dashboard's form for
// fault injection: op "add" adds a rule to the current ones, op "clear"
// removes them all. It changes the same injector as PUT /v1/chaos.
func (h *Handler) serveChaosForm(w http.ResponseWriter, r *http.Request) {
	if h.faults == nil {
		h.pages.error(w, r, newError(http.StatusNotFound, codeNotFound, "fault injection is off on this node (start it with --chaos)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.pages.error(w, r, invalid("the form: %v", err))
		return
	}
	var rules []fault.Rule
	switch op := r.PostFormValue("op"); op {
	case "clear":
	case "add":
		rate, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("rate")), 64)
		if err != nil {
			h.pages.error(w, r, invalid("rate %q is not a number", truncate(r.PostFormValue("rate"), maxEcho)))
			return
		}
		cr := ChaosRule{Kind: strings.TrimSpace(r.PostFormValue("kind")), Type: strings.TrimSpace(r.PostFormValue("type")),
			Rate: rate, Action: r.PostFormValue("action"), Delay: strings.TrimSpace(r.PostFormValue("delay"))}
		rule, err := cr.rule()
		if err != nil {
			h.pages.error(w, r, invalid("%v", err))
			return
		}
		rules = append(h.faults.Rules(), rule)
	default:
		h.pages.error(w, r, invalid("op %q: want add or clear", truncate(op, maxEcho)))
		return
	}
	if err := h.faults.Set(rules...); err != nil {
		h.pages.error(w, r, invalid("%v", err))
		return
	}
	h.dash.invalidate()
	h.log.Warn("CHAOS: fault injection rules changed from the dashboard", "principal", Caller(r).Principal, "rules", fmt.Sprint(rules))
	http.Redirect(w, r, "/#admin", http.StatusSeeOther)
}

// rollbackTimeout bounds a roll-back asked for from the dashboard.
const rollbackTimeout = 10 * time.Second

// serveRollback serves POST /dashboard/components/{name}/rollback: the
// hook through which the dashboard rolls a component's configuration back
// (see ComponentRollback).
func (h *Handler) serveRollback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rb, ok := h.dash.components.(ComponentRollback)
	var view *ComponentView
	if ok {
		for _, c := range h.dash.components.Components() {
			if c.Name == name {
				view = &c
				break
			}
		}
	}
	if view == nil || len(view.RollbackRequires) == 0 {
		h.pages.error(w, r, newError(http.StatusNotFound, codeNotFound, fmt.Sprintf("component %q offers no roll-back here", truncate(name, maxEcho))))
		return
	}
	if !h.router.Authorize(w, r, view.RollbackRequires...) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rollbackTimeout)
	defer cancel()
	if err := rb.RollbackComponent(ctx, Caller(r), name); err != nil {
		h.pages.error(w, r, newError(http.StatusUnprocessableEntity, codeFailed,
			fmt.Sprintf("rolling back %s failed: %s", truncate(name, maxEcho), truncate(err.Error(), 2*maxEcho))))
		return
	}
	h.dash.invalidate()
	h.log.Warn("component configuration rolled back from the dashboard", "principal", Caller(r).Principal, "component", name)
	http.Redirect(w, r, "/#components-section", http.StatusSeeOther)
}
