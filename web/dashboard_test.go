package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

func dashboard(t *testing.T, h http.Handler, token string) pageResponse {
	t.Helper()
	res := get(t, h, http.MethodGet, "/", "Authorization", "Bearer "+token)
	require.Equal(t, 200, res.status, res.body)
	require.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
	return res
}

func TestDashboardShowsTheNode(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node)
	for _, id := range []string{"a", "b"} {
		require.Equal(t, 200, post(t, h, "alice", "counter", id, incrementType, "").status)
	}
	require.Equal(t, 403, post(t, h, "alice", "counter", "a", resetType, "").status)

	res := dashboard(t, h, "alice")
	for _, want := range []string{
		`data-live-members="1"`, `data-name="n1"`, `data-status="alive"`, `<span class="tag">this node</span>`,
		`<span class="kind">counter 2</span>`, // activations of this node by kind
		"2 handled, 1 denied",                 // the runtime's totals
		"reactor activations are shown for this node only",
		`<p id="components">No components.</p>`,
		"alice denied packetflow.examples.counter.v1.Reset", // the audit event
		`<script src="/assets/dashboard.js" defer></script>`,
		`signed in as <b id="viewer">alice</b>`,
	} {
		require.Contains(t, res.body, want)
	}
	require.NotContains(t, res.body, `id="admin"`)
	require.Equal(t, "DENY", res.header.Get("X-Frame-Options"))
}

func TestDashboardEscapesWhatItShows(t *testing.T) {
	node := newNode(t)
	node.setMembers(cluster.Member{ID: `x"><script>alert(1)</script>`, Name: "<img src=x onerror=alert(1)>", Status: cluster.StatusAlive})
	res := dashboard(t, newHandler(t, node), "alice")
	require.NotContains(t, res.body, "<script>alert(1)")
	require.NotContains(t, res.body, "<img src=x")
	require.Contains(t, res.body, "&lt;img src=x onerror=alert(1)&gt;")
}

func TestDashboardAdminActionsNeedTheCapability(t *testing.T) {
	faults := fault.New(1)
	node := newNode(t, func(c *actor.Config) { c.Intercept = faults.Intercept })
	h := newHandler(t, node, func(c *web.Config) { c.Principals, c.Faults = chaosPrincipals(t), faults })

	require.NotContains(t, dashboard(t, h, "alice").body, "admin-action")
	res := dashboard(t, h, "operator-token")
	require.Contains(t, res.body, `id="chaos-form"`)
	require.Contains(t, res.body, `No faults are being injected.`)

	off := newHandler(t, newNode(t), func(c *web.Config) { c.Principals = chaosPrincipals(t) })
	res = dashboard(t, off, "operator-token")
	require.Contains(t, res.body, "Fault injection is off on this node")
	require.NotContains(t, res.body, `id="chaos-form"`)
}

func TestDashboardChaosForm(t *testing.T) {
	faults := fault.New(1)
	node := newNode(t, func(c *actor.Config) { c.Intercept = faults.Intercept })
	h := newHandler(t, node, func(c *web.Config) { c.Principals, c.Faults = chaosPrincipals(t), faults })
	op := signIn(t, h, "operator-token")
	add := url.Values{"csrf": {op.csrf}, "op": {"add"}, "action": {"panic"}, "kind": {"counter"}, "type": {"Increment"}, "rate": {"1"}}

	// Refused: no CSRF token, another site, a viewer without chaos:inject.
	noToken := url.Values{"op": {"add"}, "action": {"panic"}, "rate": {"1"}}
	requireErrorPage(t, op.post(t, h, "/dashboard/chaos", noToken), 403, "forbidden")
	requireErrorPage(t, op.post(t, h, "/dashboard/chaos", add, "Sec-Fetch-Site", "cross-site"), 403, "forbidden")
	alice := signIn(t, h, "alice")
	aliceAdd := url.Values{"csrf": {alice.csrf}, "op": {"add"}, "action": {"panic"}, "rate": {"1"}}
	res := alice.post(t, h, "/dashboard/chaos", aliceAdd)
	requireErrorPage(t, res, 403, "permission_denied")
	require.Contains(t, res.body, "<code>chaos:inject</code>")
	requireErrorPage(t, postForm(t, h, "/dashboard/chaos", add), 401, "unauthenticated")
	require.Empty(t, faults.Rules(), "nothing refused changed anything")

	// Bad input is a 400 page and changes nothing.
	for _, bad := range []url.Values{
		{"csrf": {op.csrf}, "op": {"add"}, "action": {"panic"}, "rate": {"lots"}},
		{"csrf": {op.csrf}, "op": {"add"}, "action": {"explode"}, "rate": {"1"}},
		{"csrf": {op.csrf}, "op": {"add"}, "action": {"panic"}, "rate": {"2"}},
		{"csrf": {op.csrf}, "op": {"add"}, "action": {"delay"}, "rate": {"1"}, "delay": {"soon"}},
		{"csrf": {op.csrf}, "op": {"drop-tables"}},
	} {
		requireErrorPage(t, op.post(t, h, "/dashboard/chaos", bad), 400, "invalid_argument")
	}
	require.Empty(t, faults.Rules())

	res = op.post(t, h, "/dashboard/chaos", add)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/#admin", res.header.Get("Location"))
	require.Equal(t, []fault.Rule{{Kind: "counter", Type: "Increment", Rate: 1, Action: fault.Panic}}, faults.Rules())
	require.Equal(t, 422, post(t, h, "alice", "counter", "x", incrementType, "").status, "the fault is injected")
	page := op.get(t, h, "/")
	require.Contains(t, page.body, `<table id="chaos-rules">`)
	require.Contains(t, page.body, "fault injection is on: 1 rule(s)", "an alert says so")

	res = op.post(t, h, "/dashboard/chaos", url.Values{"csrf": {op.csrf}, "op": {"clear"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Empty(t, faults.Rules())
}

// components is a ComponentSource with a roll-back hook.
type components struct {
	mu         sync.Mutex // guards rolledBack
	views      []web.ComponentView
	rolledBack []string // "principal:name"
	fail       error
}

func (c *components) Components() []web.ComponentView { return c.views }

func (c *components) RollbackComponent(_ context.Context, caller *intent.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.rolledBack = append(c.rolledBack, caller.Principal+":"+name)
	return nil
}

// viewsOnly is a ComponentSource without a roll-back hook.
type viewsOnly struct{ views []web.ComponentView }

func (v viewsOnly) Components() []web.ComponentView { return v.views }

func TestDashboardComponentsAndRollback(t *testing.T) {
	src := &components{views: []web.ComponentView{
		{Name: "mailer", Health: "healthy", ConfigVersion: 3, RollbackRequires: []string{"user:admin"}},
		{Name: "indexer", Health: "degraded", Detail: "3 restarts in the last minute"},
		{Name: "cache"},
	}}
	h := newHandler(t, newNode(t), func(c *web.Config) { c.Principals, c.Components = chaosPrincipals(t), src })

	res := dashboard(t, h, "alice")
	require.Contains(t, res.body, `data-name="mailer" data-health="healthy"`)
	require.Contains(t, res.body, `data-name="cache" data-health="unknown"`)
	require.Contains(t, res.body, "component indexer is degraded 3 restarts in the last minute", "an alert")
	require.NotContains(t, res.body, "Roll back config", "alice lacks user:admin")
	res = dashboard(t, h, "operator-token")
	require.Equal(t, 1, strings.Count(res.body, "Roll back config"), "only mailer offers one")

	alice := signIn(t, h, "alice")
	res = alice.post(t, h, "/dashboard/components/mailer/rollback", url.Values{"csrf": {alice.csrf}})
	requireErrorPage(t, res, 403, "permission_denied")
	require.Contains(t, res.body, "<code>user:admin</code>")
	op := signIn(t, h, "operator-token")
	requireErrorPage(t, op.post(t, h, "/dashboard/components/indexer/rollback", url.Values{"csrf": {op.csrf}}), 404, "not_found")
	requireErrorPage(t, op.post(t, h, "/dashboard/components/nope/rollback", url.Values{"csrf": {op.csrf}}), 404, "not_found")
	requireErrorPage(t, op.post(t, h, "/dashboard/components/mailer/rollback", url.Values{}), 403, "forbidden")
	res = op.post(t, h, "/dashboard/components/mailer/rollback", url.Values{"csrf": {op.csrf}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, []string{"operator:mailer"}, src.rolledBack)

	src.fail = errors.New("no earlier version")
	res = op.post(t, h, "/dashboard/components/mailer/rollback", url.Values{"csrf": {op.csrf}})
	requireErrorPage(t, res, 422, "failed")
	require.Contains(t, res.body, "no earlier version")

	// A source without the hook offers no roll-back.
	plain := newHandler(t, newNode(t), func(c *web.Config) { c.Principals, c.Components = chaosPrincipals(t), viewsOnly{src.views} })
	require.NotContains(t, dashboard(t, plain, "operator-token").body, "Roll back config")
	op = signIn(t, plain, "operator-token")
	requireErrorPage(t, op.post(t, plain, "/dashboard/components/mailer/rollback", url.Values{"csrf": {op.csrf}}), 404, "not_found")
}

func TestDashboardEventsAndAlerts(t *testing.T) {
	events := web.NewEventLog(10)
	sup, err := supervision.NewInstances(supervision.Strategy{}, supervision.Options{}, events.Supervision)
	require.NoError(t, err)
	faults := fault.New(1)
	node := newNode(t, func(c *actor.Config) { c.Supervisor, c.Intercept = sup, faults.Intercept })
	h := newHandler(t, node, func(c *web.Config) { c.Events, c.Supervision = events, sup })

	// A handler that panics: the runtime reports it, the supervisor decides.
	require.NoError(t, faults.Set(fault.Rule{Kind: "counter", Rate: 1, Action: fault.Panic}))
	require.Equal(t, 422, post(t, h, "alice", "counter", "boom", incrementType, "").status)
	require.Eventually(t, func() bool { return sup.Stats().Restarts > 0 }, 5*time.Second, 10*time.Millisecond)
	res := dashboard(t, h, "alice")
	require.Contains(t, res.body, "counter/boom failed handling intent", "the reactor's failure, as an event and an alert")
	require.Contains(t, res.body, `<li class="alert warn"><span class="source">supervision</span> failed `)
	require.Contains(t, res.body, "1 failures · 1 restarts")

	// Membership and readiness alerts.
	node.setMembers(
		cluster.Member{ID: "n1-1", Name: "n1", Status: cluster.StatusAlive},
		cluster.Member{ID: "n2-1", Name: "n2", Status: cluster.StatusDead})
	node.ready.Store(false)
	require.Eventually(t, func() bool { // once the shared snapshot is renewed
		body := dashboard(t, h, "alice").body
		return strings.Contains(body, "this node is not serving intents") && strings.Contains(body, "member n2 (n2-1) is dead")
	}, 5*time.Second, 50*time.Millisecond)
}

func TestStatsRoute(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node)
	for _, id := range []string{"a", "b", "c"} {
		require.Equal(t, 200, post(t, h, "alice", "counter", id, incrementType, "").status)
	}
	res := do(t, h, http.MethodGet, "/v1/stats", "", "")
	require.Equal(t, 200, res.status, res.raw)
	var st web.NodeStats
	require.NoError(t, json.Unmarshal([]byte(res.raw), &st))
	require.Equal(t, "n1", st.Node)
	require.Equal(t, map[string]int{"counter": 3}, st.Active)
	require.Equal(t, 3, st.ActiveTotal)
	require.EqualValues(t, 3, st.Stats.Handled)
	require.Equal(t, 405, do(t, h, http.MethodPost, "/v1/stats", "", "").status)
}

func TestDashboardShowsPeersAndUnreachablePeers(t *testing.T) {
	peer := newNode(t)
	peerHandler := newHandler(t, peer)
	require.Equal(t, 200, post(t, peerHandler, "alice", "counter", "p", incrementType, "").status)
	peerSrv := httptest.NewServer(peerHandler)
	t.Cleanup(peerSrv.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	node := newNode(t)
	node.setMembers(
		cluster.Member{ID: "n1-1", Name: "n1", Status: cluster.StatusAlive},
		cluster.Member{ID: "n2-1", Name: "n2", Status: cluster.StatusAlive},
		cluster.Member{ID: "n3-1", Name: "n3", Status: cluster.StatusAlive})
	h := newHandler(t, node, func(c *web.Config) {
		c.PeerURL = func(m cluster.Member) string {
			return map[string]string{"n2": peerSrv.URL, "n3": gone.URL}[m.Name]
		}
	})
	res := dashboard(t, h, "alice")
	require.Contains(t, res.body, `<span class="kind">counter 1</span>`, "n2's activations, from its /v1/stats")
	require.Contains(t, res.body, "unreachable: ")
	require.Contains(t, res.body, "stats of member n3")
	require.NotContains(t, res.body, "shown for this node only")
}

func TestDashboardStream(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node, func(c *web.Config) { c.DashboardRefresh = 20 * time.Millisecond })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	res := get(t, h, http.MethodGet, "/dashboard/stream")
	requireErrorPage(t, res, 401, "unauthenticated")

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/dashboard/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer alice")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	updates := 0
	for updates < 3 && lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var sections map[string]string
		require.NoError(t, json.Unmarshal([]byte(data), &sections))
		for _, name := range []string{"updated", "alerts", "members", "rates", "supervision", "components", "chaos"} {
			require.Contains(t, sections, name)
		}
		require.Contains(t, sections["members"], `data-live-members="1"`)
		updates++
	}
	require.Equal(t, 3, updates, "updates keep coming: %v", lines.Err())

	// Closing the handler ends the stream, so that a server can shut down.
	h.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end when the handler was closed")
	}
}
