package component

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Metric is what an alert rule watches, measured at each health check.
type Metric int

const (
	// MetricHealth is the health status: 0 healthy (or unknown), 1
	// degraded, 2 unhealthy.
	MetricHealth Metric = iota
	// MetricErrorRate is the share of messages handled with an error (or a
	// panic) since the previous check; 0 when none were handled.
	MetricErrorRate
	// MetricLatency is the slowest message handled since the previous
	// check, in seconds.
	MetricLatency
	// MetricQueueLength is the number of messages waiting in the mailbox.
	MetricQueueLength
)

func (m Metric) String() string {
	switch m {
	case MetricHealth:
		return "health"
	case MetricErrorRate:
		return "error rate"
	case MetricLatency:
		return "latency"
	case MetricQueueLength:
		return "queue length"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// AlertRule fires once when Metric stays above Above for For consecutive
// health checks, and clears once it is at or below ClearAt again (the
// hysteresis that keeps a value hovering at the threshold from flapping).
// Firing and clearing are events (EventAlert, EventAlertCleared); Host.Alerts
// lists the alerts firing now.
type AlertRule struct {
	Name   string
	Metric Metric
	Above  float64
	// For is how many consecutive checks the value must exceed Above.
	// Zero: 1.
	For int
	// ClearAt is the value at or below which a firing alert clears. Zero:
	// Above.
	ClearAt float64
}

func (r AlertRule) validate() error {
	switch {
	case r.Name == "":
		return errors.New("an alert rule has no name")
	case r.Metric < MetricHealth || r.Metric > MetricQueueLength:
		return fmt.Errorf("alert %s: unknown metric %d", r.Name, int(r.Metric))
	case r.For < 0:
		return fmt.Errorf("alert %s: negative For", r.Name)
	case r.ClearAt > r.Above:
		return fmt.Errorf("alert %s: ClearAt %v is above the threshold %v", r.Name, r.ClearAt, r.Above)
	}
	return nil
}

// Alert is an alert firing now.
type Alert struct {
	Component string
	Rule      string
	Metric    Metric
	Value     float64
	Above     float64
	Since     time.Time
}

func (a Alert) String() string {
	return fmt.Sprintf("%s/%s: %s %g > %g since %s", a.Component, a.Rule, a.Metric, a.Value, a.Above, a.Since.Format(time.RFC3339))
}

type alertState struct {
	over   int // consecutive checks above the threshold
	firing bool
	alert  Alert
}

// window accumulates what alert rules measure between two checks.
type window struct {
	mu      sync.Mutex
	handled int
	failed  int
	slowest time.Duration
}

func (w *window) record(took time.Duration, failed bool) {
	w.mu.Lock()
	w.handled++
	if failed {
		w.failed++
	}
	w.slowest = max(w.slowest, took)
	w.mu.Unlock()
}

// take returns the error rate and slowest latency since the last take.
func (w *window) take() (errorRate float64, slowest time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.handled > 0 {
		errorRate = float64(w.failed) / float64(w.handled)
	}
	slowest = w.slowest
	w.handled, w.failed, w.slowest = 0, 0, 0
	return errorRate, slowest
}

// evaluateAlerts runs after each health check, on the component's actor.
func (s *slot) evaluateAlerts(h Health) {
	errorRate, slowest := s.window.take()
	if len(s.def.Alerts) == 0 {
		return
	}
	value := func(m Metric) float64 {
		switch m {
		case MetricHealth:
			switch h.Status {
			case Degraded:
				return 1
			case Unhealthy:
				return 2
			}
			return 0
		case MetricErrorRate:
			return errorRate
		case MetricLatency:
			return slowest.Seconds()
		default:
			return float64(s.queue.Load())
		}
	}
	now := time.Now()
	for _, r := range s.def.Alerts {
		v := value(r.Metric)
		s.mu.Lock()
		st := s.alerts[r.Name]
		if st == nil {
			st = &alertState{}
			s.alerts[r.Name] = st
		}
		var fire, clearNow bool
		switch {
		case v > r.Above:
			st.over++
			if !st.firing && st.over >= max(r.For, 1) {
				st.firing, fire = true, true
				st.alert = Alert{Component: s.def.ID, Rule: r.Name, Metric: r.Metric, Value: v, Above: r.Above, Since: now}
			}
		default:
			st.over = 0
			clearAt := r.Above
			if r.ClearAt != 0 {
				clearAt = r.ClearAt
			}
			if st.firing && v <= clearAt {
				st.firing, clearNow = false, true
			}
		}
		if st.firing {
			st.alert.Value = v
		}
		alert := st.alert
		s.mu.Unlock()
		switch {
		case fire:
			s.host.emit(Event{Kind: EventAlert, Component: s.def.ID, Detail: alert.String(), Alert: &alert})
		case clearNow:
			s.host.emit(Event{Kind: EventAlertCleared, Component: s.def.ID, Detail: fmt.Sprintf("%s/%s: %s %g", s.def.ID, r.Name, r.Metric, v), Alert: &alert})
		}
	}
}

// firing returns the slot's alerts firing now, by rule name.
func (s *slot) firing() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alert
	for _, st := range s.alerts {
		if st.firing {
			out = append(out, st.alert)
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return strings.Compare(a.Rule, b.Rule) })
	return out
}
