package intent

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/capability"
)

// Envelope is one intent on its way to a reactor, in decoded form: the
// payload is a live protobuf message and the grants are compiled. Inside a
// process envelopes travel as pointers; at a process boundary they become an
// intentpb.Envelope (see Encode and Registry.Decode).
//
// An Envelope is not safe for concurrent mutation. Once handed to the runtime
// it must not be modified by the caller.
type Envelope struct {
	// ID identifies this intent; the entry point fills it when empty.
	ID string
	// Type is the registered intent type of Message.
	Type *Type
	// Message is the intent's payload.
	Message proto.Message
	// Deadline after which the intent is not handled; zero means none.
	Deadline time.Time
	// Metadata is free-form and never used for authorization.
	Metadata map[string]string
	// Context says on whose behalf the intent runs.
	Context *Context
}

// Context carries who asks, on whose behalf and with which capabilities.
// Only the runtime's entry points (an authenticated caller, a verified token,
// the node's own identity) create contexts with grants.
type Context struct {
	Principal string
	SessionID string
	RequestID string
	// Trace lists the hops the request has taken, oldest first.
	Trace []Hop
	// Grants are the capabilities the principal holds for this request.
	// A nil set grants nothing.
	Grants *capability.GrantSet
}

// Hop is one step of a request's path.
type Hop struct {
	Node  string
	Actor string
	At    time.Time
}
