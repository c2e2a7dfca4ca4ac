package temporal

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors of this package match one of them with
// errors.Is.
var (
	// ErrInvalid: bad input — a malformed cron expression (every
	// *CronError matches it), an unknown time zone, a bad constraint or
	// configuration. Nothing was started or changed.
	ErrInvalid = errors.New("temporal: invalid")
	// ErrStopped: the schedule, timer set or reminder service is stopped.
	ErrStopped = errors.New("temporal: stopped")
)

// CronError reports a malformed calendar expression: which field, which
// value and why. It matches ErrInvalid.
type CronError struct {
	// Field is the field's name ("minute", "day-of-week", "@every"), or
	// "expression" for the expression as a whole.
	Field string
	// Value is the offending text (truncated to 64 bytes).
	Value string
	// Reason says what is wrong, for people.
	Reason string
}

// Error returns, for example,
// `temporal: cron day-of-week "FUN": unknown name (use SUN to SAT or 0 to 7)`.
func (e *CronError) Error() string {
	v := e.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return fmt.Sprintf("temporal: cron %s %q: %s", e.Field, v, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *CronError) Unwrap() error { return ErrInvalid }
