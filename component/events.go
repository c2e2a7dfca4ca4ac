package component

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// EventKind says what happened to a component.
type EventKind int

const (
	EventStarted      EventKind = iota // a fresh instance started
	EventStopped                       // it stopped (on demand, before a restart, or with the host)
	EventFailed                        // it failed; Detail is the supervisor's directive
	EventRestarted                     // it is restarted (after a failure, or on demand)
	EventHealth                        // its health changed; Detail is the new health
	EventAlert                         // an alert rule fired
	EventAlertCleared                  // a firing alert cleared
	EventReconfigured                  // it was told of a configuration change (Err: it refused it)
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventStopped:
		return "stopped"
	case EventFailed:
		return "failed"
	case EventRestarted:
		return "restarted"
	case EventHealth:
		return "health"
	case EventAlert:
		return "alert"
	case EventAlertCleared:
		return "alert cleared"
	case EventReconfigured:
		return "reconfigured"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened to a component, to Host.Subscribe and
// the actor system's event stream (as *Event).
type Event struct {
	Kind      EventKind
	Component string
	Detail    string
	Err       error
	Alert     *Alert // EventAlert, EventAlertCleared
	Time      time.Time
}

func (e Event) String() string {
	s := e.Kind.String() + " " + e.Component
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Subscribe calls fn with every event from now on, on the goroutine that
// caused it: fn must return quickly and must not call back into the host.
func (h *Host) Subscribe(fn func(Event)) (cancel func()) {
	h.mu.Lock()
	id := h.nextSub
	h.nextSub++
	h.subs[id] = fn
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

func (h *Host) emit(e Event) {
	e.Time = time.Now()
	h.metrics.event(e)
	level := slog.LevelInfo
	if e.Kind == EventFailed || e.Kind == EventAlert {
		level = slog.LevelWarn
	}
	h.log.Log(context.Background(), level, "component "+e.Kind.String(), slog.String("component", e.Component), slog.String("detail", e.Detail), slog.Any("err", e.Err))
	h.mu.Lock()
	subs := make([]func(Event), 0, len(h.subs))
	for _, fn := range h.subs {
		subs = append(subs, fn)
	}
	h.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
	h.rt.System().EventStream.Publish(&e)
}
