package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// unknownType labels the metrics of requests whose intent type is not (yet)
// known: unauthenticated, malformed or naming no registered type. Labels
// never carry what a caller typed, so callers cannot grow the metrics.
const unknownType = "unknown"

// maxEcho bounds how much of a caller's input an error message repeats.
const maxEcho = 128

// serveIntent serves POST /v1/intents. The router has authenticated the
// caller before anything of the body is read; the mailbox checks the
// intent type's capabilities.
func (h *Handler) serveIntent(w http.ResponseWriter, r *http.Request) {
	x := exchangeOf(r)
	x.label = unknownType
	x.code = h.intent(w, r, &x.label)
}

// intent serves one POST /v1/intents and returns the code it answered with.
// It sets *typeLabel once the intent's type is known.
func (h *Handler) intent(w http.ResponseWriter, r *http.Request, typeLabel *string) string {
	caller := Caller(r)
	w.Header().Set("X-Request-Id", caller.RequestID)

	msg, e := h.decode(w, r, typeLabel)
	if e != nil {
		return writeError(w, e)
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	reply, err := h.node.Request(ctx, caller, msg)
	if err != nil {
		e := h.requestError(err, caller.RequestID)
		h.log.Debug("intent", "request", caller.RequestID, "principal", caller.Principal, "type", *typeLabel, "code", e.Code, "err", err)
		return writeError(w, e)
	}
	out := IntentResponse{Result: []byte("null")}
	if reply != nil {
		out.Type = string(reply.ProtoReflect().Descriptor().FullName())
		out.Result, err = protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(reply)
		if err != nil {
			h.log.Error("web: encoding a reply", "request", caller.RequestID, "type", out.Type, "err", err)
			return writeError(w, internalError(caller.RequestID))
		}
	}
	h.log.Debug("intent", "request", caller.RequestID, "principal", caller.Principal, "type", *typeLabel, "code", codeOK)
	writeJSON(w, http.StatusOK, out)
	return codeOK
}

// decode reads the request body and returns the intent it describes. It
// sets *typeLabel once the type is known.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, typeLabel *string) (proto.Message, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, newError(http.StatusRequestEntityTooLarge, codeTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
		}
		return nil, newError(http.StatusBadRequest, codeInvalidArgument, "reading the request body: "+err.Error())
	}
	var req IntentRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, invalid("request body: %v", err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"kind", req.Kind}, {"id", req.ID}, {"type", req.Type}} {
		if f.v == "" {
			missing = append(missing, `"`+f.name+`"`)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("request body: missing %s", strings.Join(missing, ", "))
	}

	t, err := h.rt.Types().Lookup(req.Type)
	if err != nil {
		return nil, invalid("unknown intent type %q", truncate(req.Type, maxEcho))
	}
	*typeLabel = t.Name()
	if req.Kind != t.Kind() {
		if !h.kindExists(req.Kind) {
			return nil, newError(http.StatusNotFound, codeNotFound, fmt.Sprintf("unknown reactor kind %q", truncate(req.Kind, maxEcho)))
		}
		return nil, invalid("intent type %s is handled by reactor kind %q, not %q", t.Name(), t.Kind(), truncate(req.Kind, maxEcho))
	}

	msg := t.New()
	payload := bytes.TrimSpace(req.Payload)
	if len(payload) > 0 && !bytes.Equal(payload, []byte("null")) {
		if err := protojson.Unmarshal(payload, msg); err != nil {
			return nil, invalid("payload does not fit %s: %s", t.Name(), truncate(err.Error(), 2*maxEcho))
		}
	}
	if err := t.SetIdentity(msg, req.ID); err != nil {
		return nil, invalid("id %q: %s", truncate(req.ID, maxEcho), truncate(err.Error(), 2*maxEcho))
	}
	return msg, nil
}

// kindExists reports whether kind is a reactor kind of this node or of a
// member of its cluster.
func (h *Handler) kindExists(kind string) bool {
	if slices.Contains(h.rt.Kinds(), kind) {
		return true
	}
	for _, m := range h.node.Members() {
		if m.Hosts(kind) {
			return true
		}
	}
	return false
}

func invalid(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeInvalidArgument, fmt.Sprintf(format, args...))
}

func internalError(requestID string) *apiError {
	return newError(http.StatusInternalServerError, codeInternal,
		"internal error; the node's log has the details under request id "+requestID)
}

// IntentError answers r with err, an error of sending an intent (Node.Request
// or the runtime's Request), as POST /v1/intents would — permission_denied
// naming what is missing, rejected naming the plugin, and so on — in the
// form of r's route (a JSON error or an HTML page).
func (h *Handler) IntentError(w http.ResponseWriter, r *http.Request, err error) {
	id := ""
	if c := Caller(r); c != nil {
		id = c.RequestID
	}
	e := h.requestError(err, id)
	x := exchangeOf(r)
	code := h.router.fail(w, r, x != nil && x.page, e)
	if x != nil {
		x.code = code
	}
}

// requestError maps an error of Node.Request to a response. It classifies
// errors as intent.Status does for replies on the wire, so a caller sees the
// same code whichever member handled its intent.
func (h *Handler) requestError(err error, requestID string) *apiError {
	st := intent.Status(err)
	msg := err.Error()
	switch st.Code {
	case intentpb.Code_CODE_PERMISSION_DENIED:
		e := newError(http.StatusForbidden, codePermissionDenied, msg)
		e.Missing = st.Missing
		if e.Missing == nil {
			e.Missing = []string{}
		}
		return e
	case intentpb.Code_CODE_REJECTED:
		e := newError(http.StatusUnprocessableEntity, codeRejected, msg)
		e.Plugin = st.Plugin
		return e
	case intentpb.Code_CODE_UNSUPPORTED_INTENT:
		return newError(http.StatusBadRequest, codeUnsupported, msg)
	case intentpb.Code_CODE_NOT_FOUND:
		return newError(http.StatusNotFound, codeNotFound, msg)
	case intentpb.Code_CODE_INVALID_ARGUMENT:
		return newError(http.StatusBadRequest, codeInvalidArgument, msg)
	case intentpb.Code_CODE_DEADLINE_EXCEEDED:
		return newError(http.StatusGatewayTimeout, codeDeadlineExceeded,
			fmt.Sprintf("no reply within %v: %s", h.timeout, msg))
	case intentpb.Code_CODE_FAILED:
		return newError(http.StatusUnprocessableEntity, codeFailed, msg)
	case intentpb.Code_CODE_UNAVAILABLE:
		return newError(http.StatusServiceUnavailable, codeUnavailable, msg)
	}
	h.log.Error("web: intent failed with an unexpected error", "request", requestID, "err", err)
	return internalError(requestID)
}
