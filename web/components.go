package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/intent"
)

// ComponentAdmin is the capability that rolls a component's configuration
// back from the dashboard; component:read lists components and alerts.
const (
	ComponentAdmin = "component:admin"
	ComponentRead  = "component:read"
)

// hostComponents shows a component.Host's components on the dashboard and
// rolls their configuration back.
type hostComponents struct{ h *component.Host }

func (c hostComponents) Components() []ComponentView {
	var out []ComponentView
	for _, e := range c.h.Local() {
		v := ComponentView{Name: e.ID, Health: e.Health.Status.String(), Detail: componentDetail(e)}
		if cfg, err := c.h.Config(e.ID); err == nil {
			v.ConfigVersion = int64(cfg.Current().Version())
			v.RollbackRequires = []string{ComponentAdmin}
		}
		out = append(out, v)
	}
	return out
}

func componentDetail(e component.Entry) string {
	parts := []string{e.Type + " " + e.Version, e.State}
	if e.Health.Detail != "" {
		parts = append(parts, e.Health.Detail)
	}
	if len(e.Alerts) > 0 {
		parts = append(parts, "alerts: "+strings.Join(e.Alerts, ", "))
	}
	return strings.Join(parts, "; ")
}

// RollbackComponent rolls component name's configuration back to the
// version before the current one.
func (c hostComponents) RollbackComponent(ctx context.Context, _ *intent.Context, name string) error {
	cfg, err := c.h.Config(name)
	if err != nil {
		return err
	}
	cur := cfg.Current().Version()
	history := cfg.History()
	for i := len(history) - 1; i >= 0; i-- {
		if v := history[i].Version(); v < cur {
			_, err := cfg.Rollback(ctx, v)
			return err
		}
	}
	return fmt.Errorf("%w: component %q has no earlier configuration version kept", component.ErrNotFound, name)
}

// componentJSON is one component in GET /v1/components.
type componentJSON struct {
	ID           string   `json:"id"`
	Member       string   `json:"member"`
	Type         string   `json:"type"`
	Version      string   `json:"version,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	State        string   `json:"state"`
	Health       string   `json:"health"`
	HealthDetail string   `json:"health_detail,omitempty"`
	Queue        int64    `json:"queue"`
	Alerts       []string `json:"alerts,omitempty"`
}

type alertJSON struct {
	Component string    `json:"component"`
	Rule      string    `json:"rule"`
	Metric    string    `json:"metric"`
	Value     float64   `json:"value"`
	Above     float64   `json:"above"`
	Since     time.Time `json:"since"`
}

func (h *Handler) componentRoutes(host *component.Host) error {
	read := []string{ComponentRead}
	for _, rt := range []Route{
		{Method: http.MethodGet, Pattern: "/v1/components", Requires: read, Handler: func(w http.ResponseWriter, r *http.Request) {
			h.serveComponents(w, r, host)
		}},
		{Method: http.MethodGet, Pattern: "/v1/alerts", Requires: read, Handler: func(w http.ResponseWriter, r *http.Request) {
			out := []alertJSON{}
			for _, a := range host.Alerts() {
				out = append(out, alertJSON{a.Component, a.Rule, a.Metric.String(), a.Value, a.Above, a.Since})
			}
			writeJSON(w, http.StatusOK, map[string]any{"member": host.Member(), "alerts": out})
		}},
	} {
		if err := h.router.Handle(rt); err != nil {
			return err
		}
	}
	return nil
}

// serveComponents answers GET /v1/components?type=&version=&capability=&tag=&member=&healthy=
// with the matching components of every member.
func (h *Handler) serveComponents(w http.ResponseWriter, r *http.Request, host *component.Host) {
	q := r.URL.Query()
	query := component.Query{Type: q.Get("type"), Version: q.Get("version"), Capability: q.Get("capability"),
		Tags: q["tag"], Member: q.Get("member")}
	switch q.Get("healthy") {
	case "", "false":
	case "true":
		query.Healthy = true
	default:
		writeError(w, newError(http.StatusBadRequest, codeInvalidArgument, "healthy must be true or false"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	found, err := host.Find(ctx, query)
	if err != nil {
		if errors.Is(err, component.ErrDefinition) {
			writeError(w, newError(http.StatusBadRequest, codeInvalidArgument, err.Error()))
			return
		}
		h.IntentError(w, r, err)
		return
	}
	out := []componentJSON{}
	for _, e := range found.Entries {
		out = append(out, componentJSON{ID: e.ID, Member: e.Member, Type: e.Type, Version: e.Version,
			Capabilities: e.Capabilities, Tags: e.Tags, State: e.State, Health: e.Health.Status.String(),
			HealthDetail: e.Health.Detail, Queue: e.Queue, Alerts: e.Alerts})
	}
	unreachable := map[string]string{}
	for m, err := range found.Unreachable {
		unreachable[m] = err.Error()
	}
	writeJSON(w, http.StatusOK, map[string]any{"components": out, "unreachable": unreachable})
}
