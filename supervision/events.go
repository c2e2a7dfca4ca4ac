package supervision

import (
	"errors"
	"fmt"
	"time"
)

// ErrStoppedOnItsOwn is the Reason of the EventFailed of a permanent child
// that stopped without its supervisor asking (ctx.Stop, a poison pill, an
// external stop): its supervisor restarts it, and the children its
// strategy ties to it, as after a failure.
var ErrStoppedOnItsOwn = errors.New("supervision: child stopped on its own")

// EventKind says what happened to a child.
type EventKind int

const (
	EventStarted   EventKind = iota // the child handled Started (first start or a respawn)
	EventFailed                     // the child failed; Directive is the decision
	EventRestarted                  // the child is being restarted (after Delay)
	EventResumed                    // the child resumes with its state
	EventStopped                    // the child stopped for good
	EventEscalated                  // the supervisor escalated the child's failure
	eventKinds
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventFailed:
		return "failed"
	case EventRestarted:
		return "restarted"
	case EventResumed:
		return "resumed"
	case EventStopped:
		return "stopped"
	case EventEscalated:
		return "escalated"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one supervision event, published on the actor system's event
// stream (as *Event) and to Tree.Subscribe.
type Event struct {
	Kind       EventKind
	Supervisor string // the supervisor's path
	Child      string // the child's path
	Reason     error  // the failure, when there is one
	Directive  Directive
	Delay      time.Duration // before a restart, with Backoff
	Time       time.Time     // on the tree's clock
}

func (e Event) String() string {
	s := e.Kind.String() + " " + e.Child
	if e.Kind == EventFailed {
		s += " → " + e.Directive.String()
	}
	if e.Delay > 0 {
		s += fmt.Sprintf(" after %v", e.Delay)
	}
	if e.Reason != nil && e.Kind != EventRestarted {
		s += ": " + e.Reason.Error()
	}
	return s
}

// Stats counts a tree's events.
type Stats struct {
	Started, Failures, Restarts, Resumes, Stops, Escalation int64
}
