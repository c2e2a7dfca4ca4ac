package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// liveSections are the dashboard's sections a stream updates: each is a
// template of dashboard.html and an element data-live="name" on the page.
var liveSections = []string{"updated", "alerts", "members", "rates", "supervision", "components", "chaos"}

// streamWriteTimeout bounds writing one update to a viewer: a viewer that
// stops reading loses its stream rather than holding it open.
const streamWriteTimeout = 10 * time.Second

// serveStream serves GET /dashboard/stream: server-sent events, one
// "update" event per refresh whose data is a JSON object of the live
// sections rendered for the viewer, as the page renders them. It runs on
// the request's goroutine and ends when the viewer goes away, a write
// fails, or the handler is closed.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	d := h.dash
	select {
	case d.streams <- struct{}{}:
		defer func() { <-d.streams }()
	default:
		h.pages.error(w, r, newError(http.StatusServiceUnavailable, codeUnavailable,
			fmt.Sprintf("more than %d live dashboards are open on this node; reload the page to see it as it is now", MaxStreams)))
		return
	}
	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}

	send := func(first bool) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) // not every writer has deadlines
		var b bytes.Buffer
		if first {
			fmt.Fprintf(&b, "retry: %d\n\n", max(d.refresh.Milliseconds(), 1000))
		}
		sections, err := h.renderSections(r)
		if err != nil {
			return err
		}
		data, err := json.Marshal(sections)
		if err != nil {
			return err
		}
		// JSON has no raw newlines, so the data is one line.
		b.WriteString("event: update\ndata: ")
		b.Write(data)
		b.WriteString("\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(true); err != nil {
		h.log.Debug("web: dashboard stream ended", "err", err)
		return
	}
	tick := time.NewTicker(d.refresh)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case <-tick.C:
			if err := send(false); err != nil {
				h.log.Debug("web: dashboard stream ended", "err", err)
				return
			}
		}
	}
}

// renderSections renders the live sections for r's caller from the
// current snapshot.
func (h *Handler) renderSections(r *http.Request) (map[string]string, error) {
	s := h.dash.snapshot(r.Context())
	caller := Caller(r)
	data := pageData{Node: h.pages.node, CSRF: CSRFToken(r), Content: h.dash.view(r, s)}
	if caller != nil {
		data.Viewer = caller.Principal
	}
	page := h.pages.pages["dashboard"]
	out := make(map[string]string, len(liveSections))
	for _, name := range liveSections {
		var b bytes.Buffer
		if err := h.comps.executeTemplate(&b, page, name, caller, data); err != nil {
			h.log.Error("web: rendering a dashboard section", "section", name, "err", err)
			return nil, err
		}
		out[name] = b.String()
	}
	return out, nil
}
