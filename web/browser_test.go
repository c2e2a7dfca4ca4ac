package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

// chromium returns the path of a Chromium binary ($PACKETFLOW_CHROMIUM, or
// Debian's chromium on PATH), or "".
func chromium() string {
	if p := os.Getenv("PACKETFLOW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artefacts returns the folder for the test's screenshots:
// $PACKETFLOW_ARTEFACTS, or web/testdata/artefacts (git-ignored).
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PACKETFLOW_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artefacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browserCluster is three in-process nodes, each serving its handler.
type browserCluster struct {
	nodes   []*cluster.Node
	servers []*httptest.Server
	faults  *fault.Injector // node 0's
}

func startBrowserCluster(t *testing.T) *browserCluster {
	t.Helper()
	bc := &browserCluster{faults: fault.New(7)}
	nw := clustertest.NewNetwork()
	bc.nodes = nw.StartNodes(t, 3, func(i int, cfg *cluster.NodeConfig) {
		cfg.Define = func(rt *actor.Runtime) error { return counter.Define(rt, nil) }
		cfg.Logger = discard
		if i == 0 {
			cfg.Runtime.Intercept = bc.faults.Intercept
		}
	})
	clustertest.WaitConverged(t, bc.nodes, 3, 10*time.Second)
	ps, err := web.NewPrincipals(
		web.Principal{Name: "vera", Token: "vera-token", Capabilities: []string{"user:basic"}},
		web.Principal{Name: "olga", Token: "olga-token", Capabilities: []string{"user:admin", "chaos:inject"}})
	require.NoError(t, err)

	// Each dashboard finds the other members' /v1/stats by name.
	var mu sync.Mutex
	urls := map[string]string{}
	peerURL := func(m cluster.Member) string {
		mu.Lock()
		defer mu.Unlock()
		return urls[m.Name]
	}
	for i, node := range bc.nodes {
		cfg := web.Config{Principals: ps, Logger: discard, PeerURL: peerURL, DashboardRefresh: 200 * time.Millisecond}
		if i == 0 {
			cfg.Faults = bc.faults
		}
		h, err := web.NewHandler(node, cfg)
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		t.Cleanup(h.Close) // runs first: ends the streams srv.Close would wait for
		mu.Lock()
		urls[node.Local().Name] = srv.URL
		mu.Unlock()
		bc.servers = append(bc.servers, srv)
	}
	// Some counters, so that members have activations to show.
	caller, err := bc.nodes[0].Runtime().NewContext("vera", "user:basic")
	require.NoError(t, err)
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := bc.nodes[0].Request(ctx, caller, &counterpb.Increment{Counter: id, By: 1})
		cancel()
		require.NoError(t, err)
	}
	return bc
}

// TestDashboardInChromium drives the dashboard of node n1 of a three-node
// cluster in a real headless Chromium: signing in through the form, the
// members it shows before and after a member stops (live, over server-sent
// events), the same page with JavaScript disabled, and admin actions shown
// to an operator only.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium binary: install Debian's chromium (apt-get install -y chromium) or set PACKETFLOW_CHROMIUM to run the browser test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the browser test")
	}
	dir := artefacts(t)
	bc := startBrowserCluster(t)
	base := bc.servers[0].URL

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1100))
	defer cancelAlloc()
	browser, closeBrowser := chromedp.NewContext(allocCtx)
	defer closeBrowser()
	// The first Run starts the browser; it lives as long as browser.
	require.NoError(t, chromedp.Do(browser), "starting %s", bin)
	deadline, cancel := context.WithTimeout(browser, 50*time.Second)
	defer cancel()

	shoot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	evalInt := func(ctx context.Context, expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		require.NoError(t, err, expr)
		return n
	}
	signIn := func(ctx context.Context, token string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), token),
			chromedp.Click(chromedp.CSS("#signin")),
			chromedp.WaitVisible(chromedp.CSS("#members")),
		))
	}
	const alive = `document.querySelectorAll('#members tr.member[data-status="alive"]').length`
	const admin = `document.querySelectorAll('#admin, .admin-action').length`

	// Without JavaScript: the sign-in form and the dashboard work, as of
	// when the page was loaded.
	t.Run("no JavaScript", func(t *testing.T) {
		tab, closeTab := chromedp.NewContext(deadline)
		defer closeTab()
		require.NoError(t, chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		})))
		signIn(tab, "vera-token")
		live, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#live-count")))
		require.NoError(t, err)
		require.Equal(t, "3", strings.TrimSpace(live))
		badge, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#live")))
		require.NoError(t, err)
		require.Equal(t, "static", strings.TrimSpace(badge), "no script ran")
		shoot(tab, "dashboard-no-js.png")
	})

	tab, closeTab := chromedp.NewContext(deadline)
	defer closeTab()

	t.Run("viewer sees three members, then two, and no admin actions", func(t *testing.T) {
		// Signed in already, as a rule: the browser holds the session
		// cookie of the first tab.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("body"))))
		if evalInt(tab, `document.querySelectorAll('#token').length`) > 0 {
			signIn(tab, "vera-token")
		}
		require.NoError(t, chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS("#members"))))
		_, err := chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById('live').textContent === 'live'`, chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "the live stream connects")
		require.Equal(t, 3, evalInt(tab, alive))
		// Activations of every member: this node's own and its peers' from
		// their /v1/stats.
		_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.querySelectorAll('#members td.unknown').length === 0`, chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "every member's stats are shown")
		require.Equal(t, 0, evalInt(tab, admin), "vera lacks chaos:inject")
		viewer, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#viewer")))
		require.NoError(t, err)
		require.Equal(t, "vera", viewer)
		shoot(tab, "dashboard-three-members.png")

		require.NoError(t, bc.nodes[2].Stop())
		_, err = chromedp.Run(tab, chromedp.Poll[bool](alive+` === 2 && document.getElementById('live-count').textContent === '2'`,
			chromedp.WithPollingTimeout(15*time.Second)))
		require.NoError(t, err, "the page shows two members without a reload")
		shoot(tab, "dashboard-two-members.png")
	})

	t.Run("operator sees admin actions and injects a fault", func(t *testing.T) {
		require.NoError(t, chromedp.Do(tab,
			chromedp.Click(chromedp.CSS("form.signout button")),
			chromedp.WaitVisible(chromedp.CSS("#token")),
		))
		signIn(tab, "olga-token")
		require.NoError(t, chromedp.Do(tab,
			chromedp.WaitVisible(chromedp.CSS("#chaos-form")),
			chromedp.SetValue(chromedp.CSS(`#chaos-form select[name="action"]`), "delay"),
			chromedp.SendKeys(chromedp.CSS(`#chaos-form input[name="kind"]`), "counter"),
			chromedp.SetValue(chromedp.CSS(`#chaos-form input[name="rate"]`), "0.5"),
			chromedp.SendKeys(chromedp.CSS(`#chaos-form input[name="delay"]`), "5ms"),
			chromedp.Click(chromedp.CSS(`#chaos-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("table#chaos-rules")),
		))
		require.Len(t, bc.faults.Rules(), 1)
		require.Equal(t, fault.Delay, bc.faults.Rules()[0].Action)
		require.Positive(t, evalInt(tab, admin))
		shoot(tab, "dashboard-operator.png")
		require.NoError(t, chromedp.Do(tab,
			chromedp.Click(chromedp.CSS(`#chaos-clear button`)),
			chromedp.WaitVisible(chromedp.CSS("p#chaos-rules")),
		))
		require.Empty(t, bc.faults.Rules())
	})
}
