package web

import (
	"encoding/json"
	"net/http"
)

// The JSON bodies of the HTTP API, for clients of it (such as the
// packetflow binary's send, members and healthcheck commands) as much as for
// the handler.

// IntentRequest is the body of POST /v1/intents.
type IntentRequest struct {
	// Kind is the reactor kind the intent is for; it must be the kind the
	// intent type is registered for.
	Kind string `json:"kind"`
	// ID names the reactor instance. It fills the message's identity field
	// when the payload leaves it empty; a payload naming another instance
	// is an error.
	ID string `json:"id"`
	// Type is the intent's full protobuf message name.
	Type string `json:"type"`
	// Payload is the message in protojson. Absent or null: the empty
	// message.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// IntentResponse is the body of a successful POST /v1/intents.
type IntentResponse struct {
	// Type is the full protobuf message name of the reply.
	Type string `json:"type"`
	// Result is the reply in protojson, zero values included.
	Result json.RawMessage `json:"result"`
}

// ErrorResponse is the body of every error: {"error": {...}}.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong. Code is one of the codes listed in the
// package documentation.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Missing lists the capabilities a denied principal lacks (code
	// permission_denied only).
	Missing []string `json:"missing,omitempty"`
	// Plugin names the plugin that rejected the intent (code rejected only).
	Plugin string `json:"plugin,omitempty"`
}

// HealthResponse is the body of GET /healthz when the node is ready.
type HealthResponse struct {
	Status string `json:"status"` // "ok"
	// Node is the node's runtime name.
	Node string `json:"node"`
	// Members is how many live members the node sees, itself included.
	Members int `json:"members"`
}

// MembersResponse is the body of GET /v1/members.
type MembersResponse struct {
	Members []MemberInfo `json:"members"`
}

// MemberInfo is one member in MembersResponse, as cluster.Member describes
// it.
type MemberInfo struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Kinds   []string `json:"kinds"`
	// Status is "alive", "suspect", "left" or "dead".
	Status string `json:"status"`
}

// Error codes.
const (
	codeInvalidArgument  = "invalid_argument"
	codeUnsupported      = "unsupported"
	codeUnauthenticated  = "unauthenticated"
	codePermissionDenied = "permission_denied"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "payload_too_large"
	codeRejected         = "rejected"
	codeFailed           = "failed"
	codeInternal         = "internal"
	codeUnavailable      = "unavailable"
	codeDeadlineExceeded = "deadline_exceeded"
	// codeOK labels successful intents in the metrics; it is never in a
	// body.
	codeOK = "ok"
)

// apiError is an error response: its HTTP status and its body.
type apiError struct {
	status int
	ErrorDetail
}

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, ErrorDetail: ErrorDetail{Code: code, Message: message}}
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types are written, and they always encode.
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	body = append(body, '\n')
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes e and returns its code.
func writeError(w http.ResponseWriter, e *apiError) string {
	writeJSON(w, e.status, ErrorResponse{Error: e.ErrorDetail})
	return e.Code
}
