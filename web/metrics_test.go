package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/web"
)

// metricFamily is a scraped family with lookups by label.
type metricFamily struct{ *dto.MetricFamily }

// value returns the value of the family's metric whose labels include
// labels (name, value pairs): a counter's or gauge's value, a histogram's
// sample count.
func (f *metricFamily) value(labels ...string) (float64, bool) {
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// metric returns a metric's value, failing the test if it is missing.
func metric(t testing.TB, fams map[string]*metricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := fams[name].value(labels...)
	require.True(t, ok, "no metric %s%v", name, labels)
	return v
}

func TestMetrics(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node)

	for range 2 {
		require.Equal(t, 200, post(t, h, "alice", "counter", "m", incrementType, "").status)
	}
	require.Equal(t, 403, post(t, h, "alice", "counter", "m", resetType, "").status)
	require.Equal(t, 401, post(t, h, "nobody", "counter", "m", incrementType, "").status)
	require.Equal(t, 400, post(t, h, "alice", "counter", "m", "no.such.Type", "").status)

	fams := scrape(t, h)
	require.Equal(t, 2.0, metric(t, fams, "packetflow_http_intents_total", "type", incrementType, "code", "ok"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_http_intents_total", "type", resetType, "code", "permission_denied"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_http_intents_total", "type", "unknown", "code", "unauthenticated"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_http_intents_total", "type", "unknown", "code", "invalid_argument"),
		"a type nobody registered is not a label value")
	require.Equal(t, 2.0, metric(t, fams, "packetflow_http_intent_duration_seconds", "type", incrementType))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_intents_denied_total", "type", resetType))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_cluster_members", "status", "alive"))
	require.Equal(t, 0.0, metric(t, fams, "packetflow_cluster_members", "status", "dead"))
	require.Equal(t, 2.0, metric(t, fams, "packetflow_runtime_intents_total", "outcome", "handled"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_runtime_intents_total", "outcome", "denied"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_runtime_activations_total"))
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "packetflow_runtime_effects_run_total"} {
		require.Contains(t, fams, name)
	}

	// Denials of intents from other entry points count too.
	alice, err := node.rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	_, err = node.rt.Request(context.Background(), alice, &counterpb.Reset{Counter: "m"})
	require.Error(t, err)
	fams = scrape(t, h)
	require.Equal(t, 2.0, metric(t, fams, "packetflow_intents_denied_total", "type", resetType))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_http_intents_total", "type", resetType, "code", "permission_denied"))

	// After Close, the handler no longer listens to the runtime's events.
	h.Close()
	h.Close() // idempotent
	_, err = node.rt.Request(context.Background(), alice, &counterpb.Reset{Counter: "m"})
	require.Error(t, err)
	fams = scrape(t, h)
	require.Equal(t, 2.0, metric(t, fams, "packetflow_intents_denied_total", "type", resetType))
	require.Equal(t, 3.0, metric(t, fams, "packetflow_runtime_intents_total", "outcome", "denied"))
}

func TestGoMetricsBridge(t *testing.T) {
	h := newHandler(t, newNode(t))
	// A second handler shares the process's one go-metrics sink.
	h2 := newHandler(t, newNode(t))

	// The sink is the process's: with -count=N it keeps earlier runs' sums.
	before, _ := scrape(t, h)["packetflow_webtest_bridge"].value()
	gometrics.IncrCounter([]string{"packetflow", "webtest", "bridge"}, 3)
	gometrics.SetGaugeWithLabels([]string{"packetflow", "webtest", "gauge"}, 7, []gometrics.Label{{Name: "node", Value: "n1"}})
	for _, handler := range []http.Handler{h, h2} {
		fams := scrape(t, handler)
		require.Equal(t, before+3, metric(t, fams, "packetflow_webtest_bridge"))
		require.Equal(t, 7.0, metric(t, fams, "packetflow_webtest_gauge", "node", "n1"))
	}
}

func TestMemberlistThroughARealMembership(t *testing.T) {
	// memberlist does not wait for its goroutines on Shutdown: let them end
	// before the package's leak check. Registered first, this runs last.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(clustertest.LeakSettle)
		for goleak.Find(before) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})

	node := newNode(t)
	h := newHandler(t, node) // before memberlist starts, so that the bridge sees it all
	net := clustertest.NewNetwork()
	ms := net.StartMemberships(t, 2, func(i int, cfg *cluster.MembershipConfig) {
		cfg.Kinds = []string{"counter"}
		cfg.Logger = discard
	})
	clustertest.WaitConverged(t, ms, 2, 10*time.Second)
	node.setMembers(ms[0].Members()...)

	res := do(t, h, http.MethodGet, "/v1/members", "", "")
	require.Equal(t, 200, res.status, res.raw)
	members := res.body["members"].([]any)
	require.Len(t, members, 2)
	for i, m := range members {
		m := m.(map[string]any)
		require.Equal(t, ms[i].Local().Name, m["name"])
		require.Equal(t, ms[i].Local().ID, m["id"])
		require.Equal(t, "alive", m["status"])
		require.Equal(t, []any{"counter"}, m["kinds"])
	}

	fams := scrape(t, h)
	require.Equal(t, 2.0, metric(t, fams, "packetflow_cluster_members", "status", "alive"))
	require.GreaterOrEqual(t, metric(t, fams, "memberlist_msg_alive"), 2.0, "memberlist's go-metrics reach /metrics")
	var names []string
	for name := range fams {
		if strings.HasPrefix(name, "memberlist_") {
			names = append(names, name)
		}
	}
	t.Logf("memberlist metrics: %v", names)
}

type fixedSupervision supervision.Stats

func (f fixedSupervision) Stats() supervision.Stats { return supervision.Stats(f) }

func TestSupervisionMetrics(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node, func(c *web.Config) {
		c.Supervision = fixedSupervision{Failures: 5, Restarts: 4, Stops: 1}
	})
	fams := scrape(t, h)
	require.Equal(t, 5.0, metric(t, fams, "packetflow_supervision_events_total", "event", "failed"))
	require.Equal(t, 4.0, metric(t, fams, "packetflow_supervision_events_total", "event", "restarted"))
	require.Equal(t, 1.0, metric(t, fams, "packetflow_supervision_events_total", "event", "stopped"))
	require.Equal(t, 0.0, metric(t, fams, "packetflow_supervision_events_total", "event", "escalated"))

	// Without a source there is no such family.
	require.NotContains(t, scrape(t, newHandler(t, node)), "packetflow_supervision_events_total")
}
