package intent

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/packetflow/packetflow/capability"
)

// Errors callers branch on. Each error returned by this package wraps one of
// them and says which type, field or value was wrong.
var (
	ErrUnknownType = errors.New("intent: unknown intent type")
	ErrDuplicate   = errors.New("intent: already registered")
	ErrInvalid     = errors.New("intent: invalid")
	ErrTooLarge    = errors.New("intent: too large")
)

// Spec declares a protobuf message type M as an intent: which reactor kind
// handles it, which identity (instance of that kind) it addresses, and which
// capabilities a caller needs to have it handled.
type Spec[M proto.Message] struct {
	// Kind is the reactor kind that handles the intent. Required.
	Kind string
	// Requires lists capabilities every intent of this type requires, in
	// text form ("user:basic"). They are parsed and compiled at
	// registration, so a typo is a registration error.
	Requires []string
	// RequiresFunc derives further requirements from the message itself,
	// for example "file:read:<its path>". Optional; called once per intent,
	// before the reactor sees it. An error rejects the intent as invalid.
	RequiresFunc func(M) ([]capability.Capability, error)
	// Identity names the reactor instance the intent is for, for example
	// (*counterpb.Increment).GetCounter. Nil sends every intent of the type
	// to the single instance named "default". An empty identity is invalid.
	// Set Identity or IdentityField, not both.
	Identity func(M) string
	// IdentityField is the declarative form of Identity: the name of the
	// message's string field that holds the identity, for example
	// "counter". With it, Type.SetIdentity can address a message to an
	// instance, which the HTTP API uses for its explicit "id".
	IdentityField string
	// Idempotent declares that handling an intent of this type twice has the
	// effect of handling it once (a read, a reset to a fixed value). A node
	// retries such an intent when its first attempt's outcome is unknown
	// (its member was lost mid-request); any other intent then fails with
	// ErrUnavailable and an unknown outcome rather than risk applying twice.
	Idempotent bool
}

// DefaultIdentity is the identity used when a Spec has no Identity function.
const DefaultIdentity = "default"

// Type is a registered intent type. It is immutable and safe for concurrent
// use.
type Type struct {
	name     string
	kind     string
	msgType  protoreflect.MessageType
	static   capability.Requirements
	dynamic  func(proto.Message) ([]capability.Capability, error)
	identity func(proto.Message) (string, error)
	idField  protoreflect.FieldDescriptor // Spec.IdentityField, or nil
	catalog  *capability.Catalog
	// idempotent is Spec.Idempotent.
	idempotent bool
}

// Name is the full protobuf name of the intent's message.
func (t *Type) Name() string { return t.name }

// Kind is the reactor kind that handles the intent.
func (t *Type) Kind() string { return t.kind }

// New returns a new, empty message of this type.
func (t *Type) New() proto.Message { return t.msgType.New().Interface() }

// Requirements returns what a caller needs to have m handled. For types
// without RequiresFunc it returns a shared slice and does not allocate. A
// nil m, or one of another message type, is an error wrapping ErrInvalid.
func (t *Type) Requirements(m proto.Message) (capability.Requirements, error) {
	if err := t.check(m); err != nil {
		return nil, err
	}
	if t.dynamic == nil {
		return t.static, nil
	}
	caps, err := t.dynamic(m)
	if err != nil {
		return nil, fmt.Errorf("%w %s: requirements: %w", ErrInvalid, t.name, err)
	}
	extra, err := t.catalog.Require(caps...)
	if err != nil {
		return nil, fmt.Errorf("%w %s: requirements: %w", ErrInvalid, t.name, err)
	}
	if len(t.static) == 0 {
		return extra, nil
	}
	all := make(capability.Requirements, 0, len(t.static)+len(extra))
	return append(append(all, t.static...), extra...), nil
}

// Identity returns the reactor instance m addresses. A nil m, or one of
// another message type, is an error wrapping ErrInvalid.
func (t *Type) Identity(m proto.Message) (string, error) {
	if err := t.check(m); err != nil {
		return "", err
	}
	if t.identity == nil {
		return DefaultIdentity, nil
	}
	id, err := t.identity(m)
	if err != nil {
		return "", fmt.Errorf("%w %s: identity: %w", ErrInvalid, t.name, err)
	}
	if id == "" {
		return "", fmt.Errorf("%w %s: empty identity (the field naming the %s instance is not set)", ErrInvalid, t.name, t.kind)
	}
	if len(id) > MaxIdentityBytes {
		return "", fmt.Errorf("%w %s: identity is %d bytes, limit %d", ErrInvalid, t.name, len(id), MaxIdentityBytes)
	}
	return id, nil
}

// Idempotent reports whether the type was declared idempotent (see
// Spec.Idempotent).
func (t *Type) Idempotent() bool { return t.idempotent }

// SetIdentity addresses m to the instance id: when the type declares an
// IdentityField that m leaves empty, it sets the field to id. It is an
// error wrapping ErrInvalid when m already names another instance, when the
// type cannot address id (it has no IdentityField and m's identity is not
// id), or when id is not a valid identity.
func (t *Type) SetIdentity(m proto.Message, id string) error {
	if err := t.check(m); err != nil {
		return err
	}
	if id == "" || len(id) > MaxIdentityBytes {
		return fmt.Errorf("%w %s: identity must be 1 to %d bytes, got %d", ErrInvalid, t.name, MaxIdentityBytes, len(id))
	}
	if t.idField != nil {
		pm := m.ProtoReflect()
		if pm.Get(t.idField).String() == "" {
			pm.Set(t.idField, protoreflect.ValueOfString(id))
		}
	}
	got, err := t.Identity(m)
	if err != nil {
		return err
	}
	if got != id {
		return fmt.Errorf("%w %s: the message addresses %s %q, not %q", ErrInvalid, t.name, t.kind, got, id)
	}
	return nil
}

// check reports a message that is not of type t: its requirements and
// identity would be those of another type.
func (t *Type) check(m proto.Message) error {
	if m == nil {
		return fmt.Errorf("%w %s: nil message", ErrInvalid, t.name)
	}
	if got := m.ProtoReflect().Descriptor().FullName(); string(got) != t.name {
		return fmt.Errorf("%w %s: message is a %s", ErrInvalid, t.name, got)
	}
	return nil
}

// MaxIdentityBytes bounds a reactor identity.
const MaxIdentityBytes = 256

// Registry maps protobuf message names to intent types. Lookups never lock;
// registration copies the table. The zero value is not usable: use
// NewRegistry.
type Registry struct {
	catalog *capability.Catalog

	mu    sync.Mutex // serialises writers of types
	types atomic.Pointer[map[string]*Type]
	// byMsg indexes the same types by Go message type, so resolving a
	// message's type on the hot path hashes a pointer, not a name.
	byMsg atomic.Pointer[map[protoreflect.MessageType]*Type]
}

// NewRegistry returns an empty registry whose requirements are compiled
// against catalog.
func NewRegistry(catalog *capability.Catalog) *Registry {
	r := &Registry{catalog: catalog}
	empty := map[string]*Type{}
	r.types.Store(&empty)
	emptyMsg := map[protoreflect.MessageType]*Type{}
	r.byMsg.Store(&emptyMsg)
	return r
}

// Catalog is the capability catalog requirements are compiled against.
func (r *Registry) Catalog() *capability.Catalog { return r.catalog }

// Register declares M as an intent type. The static requirements are
// compiled now, so their domains and operations must already be defined in
// the registry's catalog.
func Register[M proto.Message](r *Registry, spec Spec[M]) (*Type, error) {
	var zero M
	if any(zero) == nil {
		return nil, fmt.Errorf("%w: intent type %v is an interface, not a concrete message type", ErrInvalid, reflect.TypeFor[M]())
	}
	mt := zero.ProtoReflect().Type()
	name := string(mt.Descriptor().FullName())
	if spec.Kind == "" {
		return nil, fmt.Errorf("%w %s: no reactor kind", ErrInvalid, name)
	}
	caps := make([]capability.Capability, 0, len(spec.Requires))
	for _, s := range spec.Requires {
		c, err := capability.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrInvalid, name, err)
		}
		caps = append(caps, c)
	}
	static, err := r.catalog.Require(caps...)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalid, name, err)
	}
	t := &Type{name: name, kind: spec.Kind, msgType: mt, static: static, catalog: r.catalog, idempotent: spec.Idempotent}
	if f := spec.RequiresFunc; f != nil {
		t.dynamic = func(m proto.Message) ([]capability.Capability, error) {
			msg, ok := m.(M)
			if !ok {
				return nil, fmt.Errorf("message is a %T, not a %T", m, zero)
			}
			return f(msg)
		}
	}
	if spec.IdentityField != "" {
		if spec.Identity != nil {
			return nil, fmt.Errorf("%w %s: set Identity or IdentityField, not both", ErrInvalid, name)
		}
		fd := mt.Descriptor().Fields().ByName(protoreflect.Name(spec.IdentityField))
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated {
			return nil, fmt.Errorf("%w %s: IdentityField %q is not a singular string field of the message", ErrInvalid, name, spec.IdentityField)
		}
		t.idField = fd
		t.identity = func(m proto.Message) (string, error) {
			return m.ProtoReflect().Get(fd).String(), nil
		}
	}
	if f := spec.Identity; f != nil {
		t.identity = func(m proto.Message) (string, error) {
			msg, ok := m.(M)
			if !ok {
				return "", fmt.Errorf("message is a %T, not a %T", m, zero)
			}
			return f(msg), nil
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.types.Load()
	if _, dup := old[name]; dup {
		return nil, fmt.Errorf("%w: intent type %s", ErrDuplicate, name)
	}
	next := make(map[string]*Type, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = t
	oldMsg := *r.byMsg.Load()
	nextMsg := make(map[protoreflect.MessageType]*Type, len(oldMsg)+1)
	for k, v := range oldMsg {
		nextMsg[k] = v
	}
	nextMsg[mt] = t
	r.byMsg.Store(&nextMsg)
	r.types.Store(&next)
	return t, nil
}

// Lookup returns the type registered under a full protobuf name.
func (r *Registry) Lookup(name string) (*Type, error) {
	if t, ok := (*r.types.Load())[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownType, name)
}

// TypeOf returns the registered type of m.
func (r *Registry) TypeOf(m proto.Message) (*Type, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrInvalid)
	}
	pm := m.ProtoReflect()
	if t, ok := (*r.byMsg.Load())[pm.Type()]; ok {
		return t, nil
	}
	t, err := r.Lookup(string(pm.Descriptor().FullName()))
	if err != nil {
		return nil, err
	}
	if t.msgType == pm.Type() {
		// Registered between the two loads above.
		return t, nil
	}
	// Same protobuf name, other Go type (dynamicpb, say): handlers are
	// typed, so it must be converted by the caller (Type.New, proto.Merge).
	return nil, fmt.Errorf("%w: message %s is a %T, registered as %T", ErrInvalid, t.name, m, t.New())
}

// Names lists the registered type names, sorted.
func (r *Registry) Names() []string {
	m := *r.types.Load()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MaxJSONBytes bounds a dynamic intent's JSON payload.
const MaxJSONBytes = 1 << 20

// FromJSON creates an intent at run time from its type name and a JSON
// (protojson) payload. Unknown types, unknown fields and values that do not
// fit the message are errors; nothing is registered or changed.
func (r *Registry) FromJSON(typeName string, data []byte) (proto.Message, error) {
	t, err := r.Lookup(typeName)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxJSONBytes {
		return nil, fmt.Errorf("%w: %s payload is %d bytes, limit %d", ErrTooLarge, typeName, len(data), MaxJSONBytes)
	}
	m := t.New()
	if err := protojson.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%w %s payload: %w", ErrInvalid, typeName, err)
	}
	return m, nil
}
