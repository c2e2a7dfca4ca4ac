package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/web"
)

//go:embed panel.html
var panelHTML string

// The panel's capability-aware components: each declares what a viewer
// needs, and the page leaves it out, or shows its fallback, for others.
var panelComponents = []web.Component{
	{Name: "admin-panel", Requires: []string{"user:admin"}, Template: `
<section class="admin" id="admin-panel">
  <h2>Admin Panel</h2>
  <p>As an admin you may reset any counter. The <a href="/">node's dashboard</a> shows the cluster.</p>
  <form class="admin-action" method="post" action="/counters/reset-all">
    <input type="hidden" name="csrf" value="{{.CSRF}}">
    <button class="danger" type="submit">Reset all counters</button>
  </form>
</section>`},
	{Name: "increment", Requires: []string{"user:basic"}, Template: `
<form class="inline" method="post" action="/counters/{{.ID}}/increment">
  <input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">+1</button>
</form>`},
	{Name: "reset", Requires: []string{"user:admin"}, Template: `
<form class="inline admin-action" method="post" action="/counters/{{.ID}}/reset">
  <input type="hidden" name="csrf" value="{{.CSRF}}"><button class="danger" type="submit">reset</button>
</form>`, Fallback: `<span class="note">reset needs user:admin</span>`},
	{Name: "new-counter", Requires: []string{"user:basic"}, Template: `
<form class="admin" method="post" action="/counters">
  <input type="hidden" name="csrf" value="{{.CSRF}}">
  <label>new counter <input name="id" pattern="[a-z0-9][a-z0-9-]{0,31}" required></label>
  <button type="submit">Create with 1</button>
</form>`},
}

// panel is the admin panel: pages over the counters, on the node's router.
type panel struct {
	node  *cluster.Node
	h     *web.Handler
	comps *web.Components
	page  *template.Template

	mu  sync.Mutex // guards ids
	ids []string   // the counters the panel lists, sorted
}

// maxCounters bounds the counters the panel lists.
const maxCounters = 50

var counterID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func newPanel(node *cluster.Node, h *web.Handler, ids ...string) (*panel, error) {
	comps, err := web.NewComponents(node.Runtime().Catalog(), panelComponents...)
	if err != nil {
		return nil, err
	}
	page, err := template.New("panel").Funcs(comps.Funcs()).Parse(panelHTML)
	if err != nil {
		return nil, err
	}
	p := &panel{node: node, h: h, comps: comps, page: page, ids: slices.Sorted(slices.Values(ids))}
	for _, r := range []web.Route{
		{Method: http.MethodGet, Pattern: "/counters", Page: true, Handler: p.serveList},
		{Method: http.MethodPost, Pattern: "/counters", Page: true, Requires: []string{"user:basic"}, Handler: p.serveCreate},
		{Method: http.MethodPost, Pattern: "/counters/{id}/increment", Page: true, Requires: []string{"user:basic"}, Handler: p.serveIncrement},
		{Method: http.MethodPost, Pattern: "/counters/{id}/reset", Page: true, Requires: []string{"user:admin"}, Handler: p.serveReset},
		{Method: http.MethodPost, Pattern: "/counters/reset-all", Page: true, Requires: []string{"user:admin"}, Handler: p.serveResetAll},
	} {
		if err := h.Handle(r); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// row is one counter on the page.
type row struct {
	ID    string
	Count int64
	Err   string
	CSRF  string
}

type pageData struct {
	Viewer   string
	CSRF     string
	Counters []row
}

func (p *panel) counters() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ids)
}

// request sends msg as r's caller: the reactor's mailbox checks the
// caller's capabilities again, whatever the route checked.
func (p *panel) request(r *http.Request, msg proto.Message) (*counterpb.Value, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	reply, err := p.node.Request(ctx, web.Caller(r), msg)
	if err != nil {
		return nil, err
	}
	return reply.(*counterpb.Value), nil
}

func (p *panel) serveList(w http.ResponseWriter, r *http.Request) {
	caller := web.Caller(r)
	data := pageData{Viewer: caller.Principal, CSRF: web.CSRFToken(r)}
	for _, id := range p.counters() {
		rw := row{ID: id, CSRF: data.CSRF}
		if v, err := p.request(r, &counterpb.Get{Counter: id}); err != nil {
			rw.Err = err.Error()
		} else {
			rw.Count = v.Count
		}
		data.Counters = append(data.Counters, rw)
	}
	var b bytes.Buffer
	if err := p.comps.Execute(&b, p.page, caller, data); err != nil {
		p.h.Router().Error(w, r, http.StatusInternalServerError, "rendering the page failed")
		return
	}
	web.WritePage(w, http.StatusOK, b.Bytes())
}

// id returns the counter the path names, answering 400 for a bad one.
func (p *panel) id(w http.ResponseWriter, r *http.Request, id string) (string, bool) {
	if !counterID.MatchString(id) {
		p.h.Router().Error(w, r, http.StatusBadRequest, fmt.Sprintf("counter id %q: want 1 to 32 of a-z, 0-9 and -, starting with a letter or digit", truncate(id)))
		return "", false
	}
	return id, true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (p *panel) serveCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	id, ok := p.id(w, r, r.PostFormValue("id"))
	if !ok {
		return
	}
	p.mu.Lock()
	known := slices.Contains(p.ids, id)
	full := len(p.ids) >= maxCounters
	p.mu.Unlock()
	if !known && full {
		p.h.Router().Error(w, r, http.StatusConflict, fmt.Sprintf("the panel lists at most %d counters", maxCounters))
		return
	}
	if _, err := p.request(r, &counterpb.Increment{Counter: id, By: 1}); err != nil {
		p.h.IntentError(w, r, err)
		return
	}
	p.mu.Lock()
	if !slices.Contains(p.ids, id) {
		p.ids = append(p.ids, id)
		slices.Sort(p.ids)
	}
	p.mu.Unlock()
	http.Redirect(w, r, "/counters", http.StatusSeeOther)
}

func (p *panel) serveIncrement(w http.ResponseWriter, r *http.Request) {
	p.send(w, r, func(id string) proto.Message { return &counterpb.Increment{Counter: id, By: 1} })
}

func (p *panel) serveReset(w http.ResponseWriter, r *http.Request) {
	p.send(w, r, func(id string) proto.Message { return &counterpb.Reset{Counter: id} })
}

// send sends the intent make builds for the counter in the path, then
// shows the list again.
func (p *panel) send(w http.ResponseWriter, r *http.Request, make func(id string) proto.Message) {
	id, ok := p.id(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if _, err := p.request(r, make(id)); err != nil {
		p.h.IntentError(w, r, err)
		return
	}
	http.Redirect(w, r, "/counters", http.StatusSeeOther)
}

func (p *panel) serveResetAll(w http.ResponseWriter, r *http.Request) {
	for _, id := range p.counters() {
		if _, err := p.request(r, &counterpb.Reset{Counter: id}); err != nil {
			p.h.IntentError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/counters", http.StatusSeeOther)
}
