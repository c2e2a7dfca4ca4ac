package intent

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// statusSentinels are the sentinels a caller branches on; a remote error
// matches exactly those of its code.
var statusSentinels = []error{
	capability.ErrPermissionDenied, ErrUnsupported, ErrNotFound, ErrInvalid,
	ErrDeadlineExceeded, context.DeadlineExceeded, ErrFailed, ErrUnavailable,
}

// overWire is what a reply's status goes through between nodes.
func overWire(t testing.TB, st *intentpb.Status) *intentpb.Status {
	t.Helper()
	data, err := proto.Marshal(st)
	require.NoError(t, err)
	var out intentpb.Status
	require.NoError(t, proto.Unmarshal(data, &out))
	return &out
}

func TestStatus(t *testing.T) {
	reg := specRegistry(t)
	cat := reg.Catalog()
	_, unknownType := reg.Lookup("packetflow.examples.counter.v1.Nope")
	_, badPayload := reg.Unmarshal([]byte{0xff})
	_, tooLarge := reg.FromJSON(incrementName, make([]byte, MaxJSONBytes+1))
	_, badCapability := capability.Parse("user")
	realDenial := specGrants(t, cat, "user:basic").Check(
		append(requirementsFor(t, cat, "user:admin"), requirementsFor(t, cat, "file:read:/docs/../etc/passwd")...), time.Now())
	deadline, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	handlerErr := errors.New("counter overflow")

	tests := []struct {
		name    string
		err     error
		code    intentpb.Code
		message string   // the status message; the error's text unless set
		missing []string // PERMISSION_DENIED only
		plugin  string   // REJECTED only
		// kind is the sentinel the error that comes back matches, besides
		// the remote error's own type; nil for none (INTERNAL).
		kind []error
	}{
		{name: "denied",
			err:  &capability.DeniedError{Missing: []capability.Capability{capability.MustParse("user:admin"), capability.MustParse("file:read:/etc/passwd")}},
			code: intentpb.Code_CODE_PERMISSION_DENIED, missing: []string{"user:admin", "file:read:/etc/passwd"},
			kind: []error{capability.ErrPermissionDenied}},
		{name: "denied by a check", err: realDenial,
			code: intentpb.Code_CODE_PERMISSION_DENIED, missing: []string{"user:admin", "file:read:/etc/passwd"},
			kind: []error{capability.ErrPermissionDenied}},
		{name: "denied, wrapped", err: fmt.Errorf("deliver to counter/c1: %w", realDenial),
			code: intentpb.Code_CODE_PERMISSION_DENIED, missing: []string{"user:admin", "file:read:/etc/passwd"},
			kind: []error{capability.ErrPermissionDenied}},
		{name: "denied, nothing missing", err: &capability.DeniedError{},
			code: intentpb.Code_CODE_PERMISSION_DENIED, kind: []error{capability.ErrPermissionDenied}},

		{name: "rejected", err: &RejectedError{Plugin: "quota", Reason: errors.New("over quota")},
			code: intentpb.Code_CODE_REJECTED, plugin: "quota", message: "over quota"},
		{name: "rejected, wrapped", err: fmt.Errorf("send: %w", &RejectedError{Plugin: "quota", Reason: errors.New("over quota")}),
			code: intentpb.Code_CODE_REJECTED, plugin: "quota", message: "over quota"},
		{name: "rejected for an invalid intent", err: &RejectedError{Plugin: "schema", Reason: fmt.Errorf("%w: counter is empty", ErrInvalid)},
			code: intentpb.Code_CODE_REJECTED, plugin: "schema", message: "intent: invalid: counter is empty"},
		{name: "rejected without a reason", err: &RejectedError{Plugin: "odd"},
			code: intentpb.Code_CODE_REJECTED, plugin: "odd", message: "<nil>"},

		{name: "unsupported", err: fmt.Errorf("%w: reactor kind %q has no handler for %s", ErrUnsupported, "counter", incrementName),
			code: intentpb.Code_CODE_UNSUPPORTED_INTENT, kind: []error{ErrUnsupported}},
		{name: "not found", err: fmt.Errorf("%w: reactor kind %q", ErrNotFound, "ledger"),
			code: intentpb.Code_CODE_NOT_FOUND, kind: []error{ErrNotFound}},
		// The wire has one code for both; the remote error is ErrNotFound.
		{name: "unknown type", err: unknownType,
			code: intentpb.Code_CODE_NOT_FOUND, kind: []error{ErrNotFound}},

		{name: "invalid", err: badPayload, code: intentpb.Code_CODE_INVALID_ARGUMENT, kind: []error{ErrInvalid}},
		// One code for invalid and too large; the remote error is ErrInvalid.
		{name: "too large", err: tooLarge, code: intentpb.Code_CODE_INVALID_ARGUMENT, kind: []error{ErrInvalid}},
		{name: "bad capability string", err: badCapability, code: intentpb.Code_CODE_INVALID_ARGUMENT, kind: []error{ErrInvalid}},

		{name: "deadline exceeded", err: ErrDeadlineExceeded,
			code: intentpb.Code_CODE_DEADLINE_EXCEEDED, kind: []error{ErrDeadlineExceeded, context.DeadlineExceeded}},
		{name: "context deadline", err: deadline.Err(),
			code: intentpb.Code_CODE_DEADLINE_EXCEEDED, kind: []error{ErrDeadlineExceeded, context.DeadlineExceeded}},

		{name: "handler failed", err: fmt.Errorf("%w: %w", ErrFailed, handlerErr),
			code: intentpb.Code_CODE_FAILED, kind: []error{ErrFailed}},

		{name: "unavailable", err: fmt.Errorf("%w: runtime stopped", ErrUnavailable),
			code: intentpb.Code_CODE_UNAVAILABLE, kind: []error{ErrUnavailable}},
		// Canceled by the caller: the remote error is ErrUnavailable.
		{name: "canceled", err: canceled.Err(),
			code: intentpb.Code_CODE_UNAVAILABLE, kind: []error{ErrUnavailable}},

		{name: "anything else", err: errors.New("boom"), code: intentpb.Code_CODE_INTERNAL},
		{name: "anything else, wrapped", err: fmt.Errorf("actor: %w", errors.New("boom")), code: intentpb.Code_CODE_INTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.err, "the spec's error is set up")
			st := Status(tt.err)
			require.Equal(t, tt.code, st.GetCode())
			message := tt.message
			if message == "" {
				message = tt.err.Error()
			}
			require.Equal(t, message, st.GetMessage())
			require.Equal(t, tt.missing, st.GetMissing())
			require.Equal(t, tt.plugin, st.GetPlugin())

			back := StatusError(overWire(t, st))
			require.Error(t, back)

			switch tt.code {
			case intentpb.Code_CODE_PERMISSION_DENIED:
				var want, got *capability.DeniedError
				require.ErrorAs(t, tt.err, &want)
				require.ErrorAs(t, back, &got)
				require.Equal(t, want.Missing, got.Missing)
				require.Equal(t, want.Error(), back.Error())
			case intentpb.Code_CODE_REJECTED:
				var want, got *RejectedError
				require.ErrorAs(t, tt.err, &want)
				require.ErrorAs(t, back, &got)
				require.Equal(t, want.Plugin, got.Plugin)
				require.Equal(t, want.Error(), got.Error())
			default:
				require.Equal(t, tt.err.Error(), back.Error(), "the remote error reads as the original")
			}

			for _, s := range statusSentinels {
				// A rejection's reason comes back as text only.
				if errors.Is(tt.err, s) && !errors.Is(back, s) && tt.code != intentpb.Code_CODE_REJECTED {
					t.Errorf("the original matches %v, what came back does not", s)
				}
			}
			for _, s := range statusSentinels {
				require.Equal(t, containsErr(tt.kind, s), errors.Is(back, s), "errors.Is(back, %v)", s)
			}
		})
	}
}

func containsErr(errs []error, target error) bool {
	for _, e := range errs {
		if e == target {
			return true
		}
	}
	return false
}

func TestStatusOK(t *testing.T) {
	st := Status(nil)
	require.Equal(t, intentpb.Code_CODE_OK, st.GetCode())
	require.Empty(t, st.GetMessage())
	require.NoError(t, StatusError(st))
	require.NoError(t, StatusError(nil))
	require.NoError(t, StatusError(&intentpb.Status{Code: intentpb.Code_CODE_OK, Message: "ignored"}))
}

func TestStatusErrorOfForeignStatuses(t *testing.T) {
	tests := []struct {
		name    string
		st      *intentpb.Status
		kind    []error
		message string
	}{
		{name: "unknown code", st: &intentpb.Status{Code: 99, Message: "from the future"}, message: "from the future"},
		{name: "internal", st: &intentpb.Status{Code: intentpb.Code_CODE_INTERNAL, Message: "oops"}, message: "oops"},
		{name: "denied, unparsable missing", st: &intentpb.Status{Code: intentpb.Code_CODE_PERMISSION_DENIED, Message: "permission denied: missing ???", Missing: []string{"???"}},
			kind: []error{capability.ErrPermissionDenied}, message: "permission denied: missing ???"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := StatusError(tt.st)
			require.Error(t, err)
			require.Equal(t, tt.message, err.Error())
			for _, s := range statusSentinels {
				require.Equal(t, containsErr(tt.kind, s), errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			var denied *capability.DeniedError
			require.False(t, errors.As(err, &denied), "only a status whose missing list parses is a *DeniedError")
		})
	}
}
