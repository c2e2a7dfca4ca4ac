package intent

import (
	"context"
	"errors"
	"fmt"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// Outcomes a caller branches on besides capability.ErrPermissionDenied and
// *RejectedError.
var (
	// ErrUnsupported: the reactor kind has no handler for the intent type.
	ErrUnsupported = errors.New("intent: unsupported intent")
	// ErrNotFound: a named reactor kind, schema or type does not exist.
	ErrNotFound = errors.New("intent: not found")
	// ErrDeadlineExceeded: the intent's deadline passed before it was
	// handled or answered. It matches context.DeadlineExceeded too.
	ErrDeadlineExceeded = fmt.Errorf("intent: deadline exceeded: %w", context.DeadlineExceeded)
	// ErrUnavailable: the runtime is stopped or the target cannot be reached.
	ErrUnavailable = errors.New("intent: unavailable")
	// ErrNotApplied: the intent certainly changed nothing (it reached no
	// reactor, or its reactor's new state was not committed), so sending
	// it again cannot apply it twice. It wraps ErrUnavailable; an
	// ErrUnavailable without it has an unknown outcome.
	ErrNotApplied = fmt.Errorf("%w: not applied", ErrUnavailable)
	// ErrFailed: the reactor's handler returned an error or panicked; the
	// reactor's state is its last committed state.
	ErrFailed = errors.New("intent: handler failed")
)

// Status converts an error into the wire status of a reply. A nil error is
// CODE_OK.
func Status(err error) *intentpb.Status {
	if err == nil {
		return &intentpb.Status{Code: intentpb.Code_CODE_OK}
	}
	st := &intentpb.Status{Message: err.Error()}
	var denied *capability.DeniedError
	var rejected *RejectedError
	switch {
	case errors.As(err, &denied) && denied != nil:
		st.Code = intentpb.Code_CODE_PERMISSION_DENIED
		for _, c := range denied.Missing {
			st.Missing = append(st.Missing, c.String())
		}
	case errors.As(err, &rejected) && rejected != nil:
		st.Code = intentpb.Code_CODE_REJECTED
		st.Plugin = rejected.Plugin
		// As RejectedError.Error formats it, so StatusError rebuilds the
		// same text, "<nil>" included.
		st.Message = fmt.Sprint(rejected.Reason)
	case errors.Is(err, ErrUnsupported):
		st.Code = intentpb.Code_CODE_UNSUPPORTED_INTENT
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnknownType):
		st.Code = intentpb.Code_CODE_NOT_FOUND
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrTooLarge), errors.Is(err, capability.ErrInvalid):
		st.Code = intentpb.Code_CODE_INVALID_ARGUMENT
	case errors.Is(err, context.DeadlineExceeded):
		st.Code = intentpb.Code_CODE_DEADLINE_EXCEEDED
	case errors.Is(err, ErrFailed):
		st.Code = intentpb.Code_CODE_FAILED
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled):
		st.Code = intentpb.Code_CODE_UNAVAILABLE
	default:
		st.Code = intentpb.Code_CODE_INTERNAL
	}
	return st
}

// StatusError is the error a caller sees for a reply that came over the
// wire: its message is the remote error's text and errors.Is matches the
// sentinel of its code. Permission denials come back as
// *capability.DeniedError so callers handle local and remote denials alike.
func StatusError(st *intentpb.Status) error {
	if st == nil || st.Code == intentpb.Code_CODE_OK {
		return nil
	}
	switch st.Code {
	case intentpb.Code_CODE_PERMISSION_DENIED:
		d := &capability.DeniedError{}
		for _, s := range st.Missing {
			c, err := capability.Parse(s)
			if err != nil {
				return &remoteError{msg: st.Message, kind: capability.ErrPermissionDenied}
			}
			d.Missing = append(d.Missing, c)
		}
		return d
	case intentpb.Code_CODE_REJECTED:
		return &RejectedError{Plugin: st.Plugin, Reason: errors.New(st.Message)}
	}
	kinds := map[intentpb.Code]error{
		intentpb.Code_CODE_UNSUPPORTED_INTENT: ErrUnsupported,
		intentpb.Code_CODE_NOT_FOUND:          ErrNotFound,
		intentpb.Code_CODE_INVALID_ARGUMENT:   ErrInvalid,
		intentpb.Code_CODE_DEADLINE_EXCEEDED:  ErrDeadlineExceeded,
		intentpb.Code_CODE_FAILED:             ErrFailed,
		intentpb.Code_CODE_UNAVAILABLE:        ErrUnavailable,
	}
	kind, ok := kinds[st.Code]
	if !ok {
		kind = errors.New("intent: internal error")
	}
	return &remoteError{msg: st.Message, kind: kind}
}

// remoteError carries a remote error's text and its local sentinel.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }
