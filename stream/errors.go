package stream

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Errors returned by Run and Pipeline.Err wrap
// them; a stage's own failure arrives as a *StageError naming the stage.
var (
	// ErrInvalid reports a blueprint built from bad input: a nil function,
	// a zero window size, a non-positive parallelism. Run returns it before
	// anything is spawned.
	ErrInvalid = errors.New("stream: invalid")
	// ErrInvalidDemand is signalled (as onError, Reactive Streams rule 3.9)
	// to a subscriber that requested n <= 0 elements.
	ErrInvalidDemand = errors.New("stream: request(n) with n <= 0 (rule 3.9)")
	// ErrProtocol reports a peer stage that broke the protocol: more
	// elements than requested, or a message of the wrong element type.
	ErrProtocol = errors.New("stream: protocol violation")
	// ErrCancelled is a pipeline's error after Cancel or the end of the
	// context given to Run, before every sink completed.
	ErrCancelled = errors.New("stream: cancelled")
	// ErrBufferOverflow fails a buffer (or an Inbox) whose overflow strategy
	// is OverflowFail when an element arrives at a full buffer.
	ErrBufferOverflow = errors.New("stream: buffer overflow")
	// ErrStageLost fails a pipeline whose stage on another actor system
	// (another member) terminated, or whose member left or died, before the
	// stream between them ended.
	ErrStageLost = errors.New("stream: remote stage lost")
)

// StageError is the failure of one stage: the error its logic returned
// (or its panic) after its decider chose Stop.
type StageError struct {
	// Stage is the stage's name, "<index>-<operator>" unless named with
	// Name.
	Stage string
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("stream: stage %s: %v", e.Stage, e.Err) }

func (e *StageError) Unwrap() error { return e.Err }

// PanicError is a panic of user code in a stage (a map function, a sink
// function), recovered and handed to the stage's decider like an error.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// RemoteError is a failure signalled by a stage on another actor system,
// carried across the wire as text.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return "stream: remote stage failed: " + e.Message }

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, op, fmt.Sprintf(format, args...))
}

func anyString(x any) string { return fmt.Sprint(x) }
