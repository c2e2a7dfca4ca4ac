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

func (m *Metrics) forComponent(id string) *Metrics {
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

func (m *Metrics) queued(id string, n int64)  { m.queue.WithLabelValues(id).Set(float64(n)) }
func (m *Metrics) health(id string, s Status) { m.healthG.WithLabelValues(id).Set(float64(s)) }
func (m *Metrics) failure(id string)          { m.failures.WithLabelValues(id).Inc() }
func (m *Metrics) event(e Event)              { m.events.WithLabelValues(e.Component, e.Kind.String()).Inc() }

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

// own returns the component's metric of this kind and name, made by make
// with the series' name and labels the first time.
func own[C prometheus.Collector](m *Metrics, kind, name string, make func(name string, labels prometheus.Labels) C) (C, error) {
	var none C
	switch {
	case m.component == "":
		return none, errors.New("component: a component's own metrics come from its Env.Metrics")
	case name == "":
		return none, fmt.Errorf("component %s: a metric needs a name", m.component)
	}
	c, err := m.register(kind+" "+m.component+" "+name,
		make("packetflow_component_"+name, prometheus.Labels{"component": m.component}))
	if err != nil {
		return none, err
	}
	return c.(C), nil
}

// Counter returns the component's counter packetflow_component_<name>.
func (m *Metrics) Counter(name, help string) (prometheus.Counter, error) {
	return own(m, "counter", name, func(n string, l prometheus.Labels) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: n, Help: help, ConstLabels: l})
	})
}

// Gauge returns the component's gauge packetflow_component_<name>.
func (m *Metrics) Gauge(name, help string) (prometheus.Gauge, error) {
	return own(m, "gauge", name, func(n string, l prometheus.Labels) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: n, Help: help, ConstLabels: l})
	})
}

// Histogram returns the component's histogram packetflow_component_<name>
// (buckets: zero, Prometheus' defaults).
func (m *Metrics) Histogram(name, help string, buckets []float64) (prometheus.Histogram, error) {
	return own(m, "histogram", name, func(n string, l prometheus.Labels) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: n, Help: help, ConstLabels: l, Buckets: buckets})
	})
}
