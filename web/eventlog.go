package web

import (
	"fmt"
	"sync"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/supervision"
)

// LogEntry is one event the dashboard lists.
type LogEntry struct {
	Time time.Time
	// Source is "supervision", "reactor", "effect" or "audit".
	Source string
	// Level is "info" or "warn"; warnings are also the dashboard's alerts
	// for a while (AlertWindow).
	Level string
	Text  string
}

// AlertWindow is how long a warning in the event log stays an alert on
// the dashboard.
const AlertWindow = 5 * time.Minute

// maxEntryText bounds an entry's text: reasons can hold anything a
// handler panicked with.
const maxEntryText = 300

// EventLog keeps the latest events of a node for its dashboard:
// supervision decisions, reactor and effect failures, and permission
// denials. It is a fixed-size ring, safe for concurrent use; its methods
// never block on anything but its own short lock, so they can be called
// from actor goroutines. A nil *EventLog records nothing.
type EventLog struct {
	mu      sync.Mutex // guards entries and next
	entries []LogEntry // a ring of len cap; next is where the next goes
	next    int
	n       int // entries held, up to len(entries)
}

// DefaultEventLogSize is NewEventLog's size for a capacity of zero or
// less.
const DefaultEventLogSize = 200

// NewEventLog returns a log keeping the latest capacity events.
func NewEventLog(capacity int) *EventLog {
	if capacity <= 0 {
		capacity = DefaultEventLogSize
	}
	return &EventLog{entries: make([]LogEntry, capacity)}
}

// Add records e (its text cut to a few hundred bytes).
func (l *EventLog) Add(e LogEntry) {
	if l == nil {
		return
	}
	e.Text = truncate(e.Text, maxEntryText)
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	l.entries[l.next] = e
	l.next = (l.next + 1) % len(l.entries)
	l.n = min(l.n+1, len(l.entries))
	l.mu.Unlock()
}

// Supervision records a supervision decision. It fits as (part of) the
// onEvent callback of supervision.NewInstances: failures, stops and
// escalations are warnings.
func (l *EventLog) Supervision(e supervision.Event) {
	level := "info"
	switch e.Kind {
	case supervision.EventFailed, supervision.EventStopped, supervision.EventEscalated:
		level = "warn"
	}
	l.Add(LogEntry{Time: e.Time, Source: "supervision", Level: level, Text: e.String()})
}

// runtimeEvent records an event of the node's runtime.
func (l *EventLog) runtimeEvent(e actor.Event) {
	switch e := e.(type) {
	case *actor.ReactorFailed:
		l.Add(LogEntry{Time: e.At, Source: "reactor", Level: "warn",
			Text: fmt.Sprintf("%s/%s failed handling intent %s: %v", e.Kind, e.Identity, e.IntentID, e.Reason)})
	case *actor.EffectFailed:
		l.Add(LogEntry{Time: e.At, Source: "effect", Level: "warn",
			Text: fmt.Sprintf("effect of %s/%s (intent %s) failed: %v", e.Kind, e.Identity, e.IntentID, e.Err)})
	case *actor.PermissionDenied:
		missing := make([]string, len(e.Missing))
		for i, m := range e.Missing {
			missing[i] = m.String()
		}
		l.Add(LogEntry{Time: e.At, Source: "audit", Level: "info",
			Text: fmt.Sprintf("%s denied %s for %s/%s: missing %v", e.Principal, e.IntentType, e.Kind, e.Identity, missing)})
	}
}

// Entries returns the events held, newest first.
func (l *EventLog) Entries() []LogEntry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LogEntry, 0, l.n)
	for i := 1; i <= l.n; i++ {
		out = append(out, l.entries[(l.next-i+len(l.entries))%len(l.entries)])
	}
	return out
}
