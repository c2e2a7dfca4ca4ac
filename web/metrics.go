package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	gometricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/supervision"
)

// metrics is a handler's Prometheus registry and the collectors it updates.
type metrics struct {
	registry *prometheus.Registry
	http     http.Handler // serves registry
	intents  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	denied   *prometheus.CounterVec
}

func newMetrics(node Node, sup interface{ Stats() supervision.Stats }, extra []prometheus.Gatherer, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packetflow_http_intents_total",
			Help: "Intents received on POST /v1/intents, by intent type and response code (ok or an error code).",
		}, []string{"type", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "packetflow_http_intent_duration_seconds",
			Help:    "Time from receiving POST /v1/intents to writing the response, by intent type.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packetflow_intents_denied_total",
			Help: "Intents this node's mailboxes refused for missing capabilities, from every entry point, by intent type.",
		}, []string{"type"}),
	}
	sink, err := goMetricsSink()
	if err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		m.intents, m.latency, m.denied,
		nodeCollector{node: node, sup: sup},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		sink,
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("web: registering metrics: %w", err)
		}
	}
	gatherers := prometheus.Gatherers{m.registry}
	gatherers = append(gatherers, extra...)
	m.http = promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      scrapeLog{log},
	})
	return m, nil
}

func (m *metrics) observe(typ, code string, d time.Duration) {
	m.intents.WithLabelValues(typ, code).Inc()
	m.latency.WithLabelValues(typ).Observe(d.Seconds())
}

// scrapeLog logs what promhttp reports about a failed scrape.
type scrapeLog struct{ log *slog.Logger }

func (l scrapeLog) Println(v ...any) { l.log.Error("web: serving /metrics", "err", fmt.Sprint(v...)) }

// nodeCollector reports, at each scrape, the members by status and the
// runtime's counters.
type nodeCollector struct {
	node Node
	sup  interface{ Stats() supervision.Stats } // may be nil
}

var (
	membersDesc = prometheus.NewDesc("packetflow_cluster_members",
		"Members of the cluster as this node sees them, by status.", []string{"status"}, nil)
	runtimeIntentsDesc = prometheus.NewDesc("packetflow_runtime_intents_total",
		"Intents this node's runtime finished, by outcome: handled, failed, denied, unsupported, rejected (by a plugin or as invalid) or expired.",
		[]string{"outcome"}, nil)
	effectsRunDesc = prometheus.NewDesc("packetflow_runtime_effects_run_total",
		"Effects this node's runtime started.", nil, nil)
	effectsFailedDesc = prometheus.NewDesc("packetflow_runtime_effects_failed_total",
		"Effects that returned an error or panicked.", nil, nil)
	activationsDesc = prometheus.NewDesc("packetflow_runtime_activations_total",
		"Reactor instances this node's runtime activated.", nil, nil)
	nonIntentDesc = prometheus.NewDesc("packetflow_runtime_non_intent_drops_total",
		"Messages that were not intents, refused by reactor mailboxes.", nil, nil)
	supervisionDesc = prometheus.NewDesc("packetflow_supervision_events_total",
		"Supervision decisions about this node's reactor instances, by event: failed, restarted, resumed, stopped, escalated.",
		[]string{"event"}, nil)
)

// memberStatuses are the statuses always reported, zero or not, so that a
// status does not vanish from a dashboard when its count drops to zero.
var memberStatuses = []cluster.Status{cluster.StatusAlive, cluster.StatusSuspect, cluster.StatusLeft, cluster.StatusDead}

func (nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{membersDesc, runtimeIntentsDesc, effectsRunDesc, effectsFailedDesc, activationsDesc, nonIntentDesc, supervisionDesc} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	count := map[cluster.Status]int{}
	for _, m := range c.node.Members() {
		count[m.Status]++
	}
	for _, s := range memberStatuses {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(count[s]), s.String())
	}
	st := c.node.Runtime().Stats()
	for _, o := range []struct {
		outcome string
		n       uint64
	}{
		{"handled", st.Handled}, {"failed", st.Failed}, {"denied", st.Denied},
		{"unsupported", st.Unsupported}, {"rejected", st.Rejected}, {"expired", st.Expired},
	} {
		ch <- prometheus.MustNewConstMetric(runtimeIntentsDesc, prometheus.CounterValue, float64(o.n), o.outcome)
	}
	ch <- prometheus.MustNewConstMetric(effectsRunDesc, prometheus.CounterValue, float64(st.EffectsRun))
	ch <- prometheus.MustNewConstMetric(effectsFailedDesc, prometheus.CounterValue, float64(st.EffectsFailed))
	ch <- prometheus.MustNewConstMetric(activationsDesc, prometheus.CounterValue, float64(st.Activations))
	ch <- prometheus.MustNewConstMetric(nonIntentDesc, prometheus.CounterValue, float64(st.NonIntentDrops))
	if c.sup != nil {
		ss := c.sup.Stats()
		for _, e := range []struct {
			event string
			n     int64
		}{
			{"failed", ss.Failures}, {"restarted", ss.Restarts}, {"resumed", ss.Resumes},
			{"stopped", ss.Stops}, {"escalated", ss.Escalation},
		} {
			ch <- prometheus.MustNewConstMetric(supervisionDesc, prometheus.CounterValue, float64(e.n), e.event)
		}
	}
}

// bridge is the process's go-metrics sink. go-metrics, through which
// memberlist reports, has one global sink per process, so the bridge is
// installed once and registered in every handler's registry.
var bridge struct {
	once sync.Once
	sink *gometricsprom.PrometheusSink
	err  error
}

// goMetricsSink installs, on first use, a Prometheus sink as go-metrics'
// global sink and returns it. The sink's metrics never expire (memberlist
// sets some gauges only when they change), its keys are go-metrics' keys
// with "." as "_" (memberlist.msg.alive is memberlist_msg_alive), and it
// adds no hostname prefix and collects no runtime metrics of its own (the
// Go collector does).
func goMetricsSink() (*gometricsprom.PrometheusSink, error) {
	bridge.once.Do(func() {
		sink, err := gometricsprom.NewPrometheusSinkFrom(gometricsprom.PrometheusOpts{
			Name: "packetflow_gometrics_bridge",
			// The sink registers itself; give it a registry of its own
			// rather than the global one. Handlers register it in theirs.
			Registerer: prometheus.NewRegistry(),
		})
		if err != nil {
			bridge.err = fmt.Errorf("web: go-metrics bridge: %w", err)
			return
		}
		cfg := &gometrics.Config{
			TimerGranularity: time.Millisecond,
			ProfileInterval:  time.Second,
			FilterDefault:    true,
		}
		if _, err := gometrics.NewGlobal(cfg, sink); err != nil {
			bridge.err = fmt.Errorf("web: go-metrics bridge: %w", err)
			return
		}
		bridge.sink = sink
	})
	return bridge.sink, bridge.err
}

// BridgeGoMetrics installs the go-metrics bridge that NewHandler installs
// (see there) at once, so that what memberlist reports before the handler
// exists is kept: call it before starting the node.
func BridgeGoMetrics() error {
	_, err := goMetricsSink()
	return err
}
