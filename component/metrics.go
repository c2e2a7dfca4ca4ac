package component

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds a host's metrics in a registry of its own: the built-in
// ones (messages, latency, queue length, health, failures, events) and the
// components' own counters, gauges and histograms. Serve it beside the
// node's metrics (Host.Gatherer); every series has a "component" label.
type Metrics struct {
	reg       *prometheus.Registry
	messages  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	queue     *prometheus.GaugeVec
	healthG   *prometheus.GaugeVec
	failures  *prometheus.CounterVec
	events    *prometheus.CounterVec
	component string // set on a component's own Metrics

	mu   sync.Mutex // guards own
	own  map[string]prometheus.Collector
	root *Metrics
}

func newMetrics(member string) *Metrics {
	labels := prometheus.Labels{"member": member}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "packetflow_component_messages_total",
			Help: "Messages handled by components, by outcome.", ConstLabels: labels}, []string{"component", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "packetflow_component_message_seconds",
			Help: "Time components took to handle a message.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}, []string{"component"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "packetflow_component_queue_length",
			Help: "Messages waiting in a component's mailbox.", ConstLabels: labels}, []string{"component"}),
		healthG: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "packetflow_component_health",
			Help: "Last health check: 0 unknown, 1 healthy, 2 degraded, 3 unhealthy.", ConstLabels: labels}, []string{"component"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "packetflow_component_failures_total",
			Help: "Component failures handled by the supervisor.", ConstLabels: labels}, []string{"component"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "packetflow_component_events_total",
			Help: "Component lifecycle, health and alert events.", ConstLabels: labels}, []string{"component", "event"}),
		own: map[string]prometheus.Collector{},
	}
	m.root = m
	m.reg.MustRegister(m.messages, m.latency, m.queue, m.healthG, m.failures, m.events)
	return m
}

// Gatherer is the registry of the host's metrics.
func (h *Host) Gatherer() prometheus.Gatherer { return h.metrics.reg }

func (m *Metrics) forComponent(id, typ string) *Metrics {
	return &Metrics{component: id, root: m}
}

func (m *Metrics) observe(id string, took time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.messages.WithLabelValues(id, outcome).Inc()
	m.latency.WithLabelValues(id).Observe(took.Seconds())
}

func (m *Metrics) queued(id string, n int64)    { m.queue.WithLabelValues(id).Set(float64(n)) }
func (m *Metrics) health(id string, s Status)   { m.healthG.WithLabelValues(id).Set(float64(s)) }
func (m *Metrics) failure(id string)            { m.failures.WithLabelValues(id).Inc() }
func (m *Metrics) event(e Event)                { m.events.WithLabelValues(e.Component, e.Kind.String()).Inc() }
func (m *Metrics) ownName(name string) string   { return "packetflow_component_" + name }
func (m *Metrics) labels() prometheus.Labels    { return prometheus.Labels{"component": m.component} }
func (m *Metrics) key(kind, name string) string { return kind + " " + m.component + " " + name }
func (m *Metrics) builtin() bool                { return m.component == "" }
func (m *Metrics) check(name string) error {
	if m.builtin() {
		return errors.New("component: use Env.Metrics")
	}
	if name == "" {
		return fmt.Errorf("component %s: a metric needs a name", m.component)
	}
	return nil
}

// register returns the collector registered under key, or registers c.
// The same name asked for again (a restarted component) returns the first.
func (m *Metrics) register(key string, c prometheus.Collector) (prometheus.Collector, error) {
	r := m.root
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.own[key]; ok {
		return old, nil
	}
	if err := r.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector, nil
		}
		return nil, fmt.Errorf("component %s: %w", m.component, err)
	}
	r.own[key] = c
	return c, nil
}

// Counter returns the component's counter packetflow_component_<name>.
func (m *Metrics) Counter(name, help string) (prometheus.Counter, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	c, err := m.register(m.key("counter", name), prometheus.NewCounter(prometheus.CounterOpts{
		Name: m.ownName(name), Help: help, ConstLabels: m.labels()}))
	if err != nil {
		return nil, err
	}
	return c.(prometheus.Counter), nil
}

// Gauge returns the component's gauge packetflow_component_<name>.
func (m *Metrics) Gauge(name, help string) (prometheus.Gauge, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	c, err := m.register(m.key("gauge", name), prometheus.NewGauge(prometheus.GaugeOpts{
		Name: m.ownName(name), Help: help, ConstLabels: m.labels()}))
	if err != nil {
		return nil, err
	}
	return c.(prometheus.Gauge), nil
}

// Histogram returns the component's histogram packetflow_component_<name>
// (buckets: zero, Prometheus' defaults).
func (m *Metrics) Histogram(name, help string, buckets []float64) (prometheus.Histogram, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	c, err := m.register(m.key("histogram", name), prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: m.ownName(name), Help: help, ConstLabels: m.labels(), Buckets: buckets}))
	if err != nil {
		return nil, err
	}
	return c.(prometheus.Histogram), nil
}
