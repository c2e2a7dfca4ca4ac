package intent

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/examples/filesystem/filesystempb"
)

// Full protobuf names of the example intents.
const (
	incrementName = "packetflow.examples.counter.v1.Increment"
	resetName     = "packetflow.examples.counter.v1.Reset"
	getName       = "packetflow.examples.counter.v1.Get"
	readFileName  = "packetflow.examples.filesystem.v1.ReadFile"
)

// specCatalog defines the two domains the registry specs use:
//
//	user: basic, admin           admin ⇒ basic
//	file: read, write, delete, admin   admin ⇒ delete ⇒ write ⇒ read
func specCatalog(t testing.TB) *capability.Catalog {
	t.Helper()
	cat := capability.NewCatalog()
	user, err := capability.NewSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic"))
	require.NoError(t, err)
	require.NoError(t, cat.Define(user))
	file, err := capability.NewSchema("file", []string{"read", "write", "delete", "admin"},
		capability.Implies("admin", "delete"), capability.Implies("delete", "write"), capability.Implies("write", "read"))
	require.NoError(t, err)
	require.NoError(t, cat.Define(file))
	return cat
}

// fileCapability is the RequiresFunc of the filesystem intents:
// "file:<op>:<the message's path>".
func fileCapability[M interface{ GetPath() string }](op string) func(M) ([]capability.Capability, error) {
	return func(m M) ([]capability.Capability, error) {
		if m.GetPath() == "" {
			return nil, errNoPath
		}
		c, err := capability.New("file", op, m.GetPath())
		if err != nil {
			return nil, err
		}
		return []capability.Capability{c}, nil
	}
}

var errNoPath = errors.New("no path")

// specRegistry registers the counter and filesystem intents the way the
// examples do.
func specRegistry(t testing.TB) *Registry {
	t.Helper()
	reg := NewRegistry(specCatalog(t))
	_, err := Register(reg, Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Reset]{Kind: "counter", Requires: []string{"user:admin"}, Identity: (*counterpb.Reset).GetCounter})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Get]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Get).GetCounter})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*filesystempb.ReadFile]{Kind: "volume", Identity: (*filesystempb.ReadFile).GetVolume, RequiresFunc: fileCapability[*filesystempb.ReadFile]("read")})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*filesystempb.WriteFile]{Kind: "volume", Identity: (*filesystempb.WriteFile).GetVolume, RequiresFunc: fileCapability[*filesystempb.WriteFile]("write")})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*filesystempb.DeleteFile]{Kind: "volume", Identity: (*filesystempb.DeleteFile).GetVolume, RequiresFunc: fileCapability[*filesystempb.DeleteFile]("delete")})
	require.NoError(t, err)
	return reg
}

// specGrants compiles unbounded grants of the capabilities in texts.
func specGrants(t testing.TB, cat *capability.Catalog, texts ...string) *capability.GrantSet {
	t.Helper()
	grants := make([]capability.Grant, 0, len(texts))
	for _, s := range texts {
		c, err := capability.Parse(s)
		require.NoError(t, err)
		grants = append(grants, capability.Grant{Capability: c})
	}
	gs, err := cat.Grants(grants...)
	require.NoError(t, err)
	return gs
}

// capStrings is the text form of what reqs require.
func capStrings(reqs capability.Requirements) []string {
	var out []string
	for _, c := range reqs.Capabilities() {
		out = append(out, c.String())
	}
	return out
}

// requireErrorIs checks that err matches every sentinel in want.
func requireErrorIs(t testing.TB, err error, want ...error) {
	t.Helper()
	require.Error(t, err)
	for _, w := range want {
		require.ErrorIs(t, err, w)
	}
}

func TestRegisterStaticRequires(t *testing.T) {
	tests := []struct {
		name     string
		requires []string
		want     []string // compiled, canonical; nil when none
		wantErr  []error  // sentinels the registration error matches
	}{
		{name: "no requirements", requires: nil, want: nil},
		{name: "one", requires: []string{"user:basic"}, want: []string{"user:basic"}},
		{name: "several, in order", requires: []string{"user:admin", "file:read:/docs/*"}, want: []string{"user:admin", "file:read:/docs/*"}},
		{name: "resource is cleaned", requires: []string{"file:read:/docs/../etc/passwd"}, want: []string{"file:read:/etc/passwd"}},
		{name: "any resource", requires: []string{"file:admin:*"}, want: []string{"file:admin:*"}},

		{name: "unknown domain", requires: []string{"user:basic", "bank:transfer"}, wantErr: []error{ErrInvalid, capability.ErrUnknownDomain}},
		{name: "unknown operation", requires: []string{"user:root"}, wantErr: []error{ErrInvalid, capability.ErrUnknownOperation}},
		{name: "no operation", requires: []string{"user"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "empty operation", requires: []string{"file::/docs"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "upper-case domain", requires: []string{"User:basic"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "empty string", requires: []string{""}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "relative path escapes its root", requires: []string{"file:read:../etc/passwd"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "whitespace in resource", requires: []string{"file:read:/my docs"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "star inside a path", requires: []string{"file:read:/docs/*/a"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "too long", requires: []string{"file:read:/" + strings.Repeat("a", capability.MaxLength)}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry(specCatalog(t))
			typ, err := Register(reg, Spec[*counterpb.Increment]{Kind: "counter", Requires: tt.requires})
			if tt.wantErr != nil {
				requireErrorIs(t, err, tt.wantErr...)
				require.Contains(t, err.Error(), incrementName, "the error names the intent type")
				require.Nil(t, typ)
				require.Empty(t, reg.Names(), "a failed registration registers nothing")
				_, err = reg.Lookup(incrementName)
				require.ErrorIs(t, err, ErrUnknownType)
				// ...so the type can still be registered correctly.
				_, err = Register(reg, Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}})
				require.NoError(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, incrementName, typ.Name())
			require.Equal(t, "counter", typ.Kind())
			reqs, err := typ.Requirements(&counterpb.Increment{Counter: "c"})
			require.NoError(t, err)
			require.Equal(t, tt.want, capStrings(reqs))
		})
	}
}

func TestRegisterRejectsBadSpecs(t *testing.T) {
	t.Run("missing kind", func(t *testing.T) {
		reg := NewRegistry(specCatalog(t))
		typ, err := Register(reg, Spec[*counterpb.Increment]{Requires: []string{"user:basic"}})
		requireErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), "kind")
		require.Nil(t, typ)
		require.Empty(t, reg.Names())
	})
	t.Run("duplicate", func(t *testing.T) {
		reg := NewRegistry(specCatalog(t))
		first, err := Register(reg, Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}})
		require.NoError(t, err)
		second, err := Register(reg, Spec[*counterpb.Increment]{Kind: "other", Requires: []string{"user:admin"}})
		requireErrorIs(t, err, ErrDuplicate)
		require.NotErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), incrementName)
		require.Nil(t, second)
		got, err := reg.Lookup(incrementName)
		require.NoError(t, err)
		require.Same(t, first, got, "the first registration stays")
		require.Equal(t, "counter", got.Kind())
	})
	t.Run("interface type parameter", func(t *testing.T) {
		reg := NewRegistry(specCatalog(t))
		var typ *Type
		var err error
		require.NotPanics(t, func() { typ, err = Register(reg, Spec[proto.Message]{Kind: "any"}) })
		requireErrorIs(t, err, ErrInvalid)
		require.Nil(t, typ)
		require.Empty(t, reg.Names())
	})
}

func TestRegisterRequiresFunc(t *testing.T) {
	reg := specRegistry(t)
	tests := []struct {
		name    string
		msg     proto.Message
		want    []string
		wantErr []error
	}{
		{name: "read a file", msg: &filesystempb.ReadFile{Volume: "v", Path: "/docs/a.txt"}, want: []string{"file:read:/docs/a.txt"}},
		{name: "dot-dot is cleaned away", msg: &filesystempb.ReadFile{Volume: "v", Path: "/docs/../etc/passwd"}, want: []string{"file:read:/etc/passwd"}},
		{name: "doubled and dot segments are cleaned", msg: &filesystempb.ReadFile{Volume: "v", Path: "/docs//a/./b/"}, want: []string{"file:read:/docs/a/b"}},
		{name: "write", msg: &filesystempb.WriteFile{Volume: "v", Path: "/docs/a.txt", Content: []byte("x")}, want: []string{"file:write:/docs/a.txt"}},
		{name: "delete", msg: &filesystempb.DeleteFile{Volume: "v", Path: "/tmp/x"}, want: []string{"file:delete:/tmp/x"}},

		{name: "RequiresFunc error", msg: &filesystempb.ReadFile{Volume: "v"}, wantErr: []error{ErrInvalid, errNoPath}},
		{name: "relative path escaping its root", msg: &filesystempb.ReadFile{Volume: "v", Path: "docs/../../etc"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "control character in path", msg: &filesystempb.ReadFile{Volume: "v", Path: "/docs/\x01"}, wantErr: []error{ErrInvalid, capability.ErrInvalid}},
		{name: "message of another type", msg: &counterpb.Reset{Counter: "c"}, wantErr: []error{ErrInvalid}},
		{name: "nil message", msg: nil, wantErr: []error{ErrInvalid}},
	}
	readFile, err := reg.Lookup(readFileName)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := readFile
			if tt.wantErr == nil {
				var err error
				typ, err = reg.TypeOf(tt.msg)
				require.NoError(t, err)
			}
			var reqs capability.Requirements
			var err error
			require.NotPanics(t, func() { reqs, err = typ.Requirements(tt.msg) })
			if tt.wantErr != nil {
				requireErrorIs(t, err, tt.wantErr...)
				require.Contains(t, err.Error(), typ.Name())
				require.Nil(t, reqs)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, capStrings(reqs))
		})
	}
}

func TestRegisterRequiresFuncUnknownCapability(t *testing.T) {
	reg := NewRegistry(specCatalog(t))
	typ, err := Register(reg, Spec[*filesystempb.ReadFile]{
		Kind: "volume",
		RequiresFunc: func(m *filesystempb.ReadFile) ([]capability.Capability, error) {
			return []capability.Capability{{Domain: "disk", Op: "read", Resource: m.GetPath()}}, nil
		},
	})
	require.NoError(t, err, "a RequiresFunc is only called per intent")
	_, err = typ.Requirements(&filesystempb.ReadFile{Path: "/a"})
	requireErrorIs(t, err, ErrInvalid, capability.ErrUnknownDomain)
}

func TestRegisterStaticAndDynamicRequires(t *testing.T) {
	reg := NewRegistry(specCatalog(t))
	typ, err := Register(reg, Spec[*filesystempb.ReadFile]{
		Kind:         "volume",
		Requires:     []string{"user:basic"},
		RequiresFunc: fileCapability[*filesystempb.ReadFile]("read"),
	})
	require.NoError(t, err)
	reqs, err := typ.Requirements(&filesystempb.ReadFile{Path: "/docs/a"})
	require.NoError(t, err)
	require.Equal(t, []string{"user:basic", "file:read:/docs/a"}, capStrings(reqs), "static first, then derived")
	again, err := typ.Requirements(&filesystempb.ReadFile{Path: "/docs/a"})
	require.NoError(t, err)
	require.Equal(t, capStrings(reqs), capStrings(again), "the static part is not modified by appending")
}

// TestRequiresFuncCheck is the point of RequiresFunc: the path is part of
// what is checked, after cleaning, and file operations imply each other
// admin ⇒ delete ⇒ write ⇒ read.
func TestRequiresFuncCheck(t *testing.T) {
	reg := specRegistry(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	read := func(p string) proto.Message { return &filesystempb.ReadFile{Volume: "v", Path: p} }
	write := func(p string) proto.Message { return &filesystempb.WriteFile{Volume: "v", Path: p} }
	del := func(p string) proto.Message { return &filesystempb.DeleteFile{Volume: "v", Path: p} }
	tests := []struct {
		grant   string
		msg     proto.Message
		allowed bool
	}{
		{"file:read:/docs/*", read("/docs/a.txt"), true},
		{"file:read:/docs/*", read("/docs/sub/a.txt"), true},
		{"file:read:/docs/*", read("/docs/../etc/passwd"), false},
		{"file:read:/etc/passwd", read("/docs/../etc/passwd"), true},
		{"file:read:/docs/*", read("/docs"), false},
		{"file:read:/docs/*", read("/docsx/a"), false},
		{"file:read:/docs/*", write("/docs/a.txt"), false},
		{"file:write:/docs/*", read("/docs/a.txt"), true},
		{"file:write:/docs/*", write("/docs/a.txt"), true},
		{"file:write:/docs/*", del("/docs/a.txt"), false},
		{"file:delete:/docs/*", write("/docs/a.txt"), true},
		{"file:admin:/docs/*", read("/docs/a.txt"), true},
		{"file:admin:/docs/*", del("/docs/a.txt"), true},
		{"file:admin", del("/anything"), true},
		{"file:admin:*", read("/anything"), true},
		{"user:admin", read("/docs/a.txt"), false},
	}
	for _, tt := range tests {
		typ, err := reg.TypeOf(tt.msg)
		require.NoError(t, err)
		name := fmt.Sprintf("%s %s %v", tt.grant, typ.Name(), tt.msg)
		t.Run(name, func(t *testing.T) {
			reqs, err := typ.Requirements(tt.msg)
			require.NoError(t, err)
			gs := specGrants(t, reg.Catalog(), tt.grant)
			err = gs.Check(reqs, now)
			if tt.allowed {
				require.NoError(t, err)
				return
			}
			var denied *capability.DeniedError
			require.ErrorAs(t, err, &denied)
			require.Equal(t, reqs.Capabilities(), denied.Missing)
		})
	}
}

func TestTypeIdentity(t *testing.T) {
	reg := specRegistry(t)
	noIdentity := NewRegistry(specCatalog(t))
	single, err := Register(noIdentity, Spec[*counterpb.Increment]{Kind: "counter"})
	require.NoError(t, err)
	increment, err := reg.Lookup(incrementName)
	require.NoError(t, err)

	tests := []struct {
		name    string
		typ     *Type
		msg     proto.Message
		want    string
		wantErr bool
	}{
		{name: "from the message", typ: increment, msg: &counterpb.Increment{Counter: "c1"}, want: "c1"},
		{name: "at the limit", typ: increment, msg: &counterpb.Increment{Counter: strings.Repeat("x", MaxIdentityBytes)}, want: strings.Repeat("x", MaxIdentityBytes)},
		{name: "nil Identity is the default instance", typ: single, msg: &counterpb.Increment{Counter: "c1"}, want: DefaultIdentity},
		{name: "nil Identity, empty message", typ: single, msg: &counterpb.Increment{}, want: DefaultIdentity},

		{name: "empty", typ: increment, msg: &counterpb.Increment{}, wantErr: true},
		{name: "over the limit", typ: increment, msg: &counterpb.Increment{Counter: strings.Repeat("x", MaxIdentityBytes+1)}, wantErr: true},
		{name: "message of another type", typ: increment, msg: &counterpb.Reset{Counter: "c1"}, wantErr: true},
		{name: "message of another type, nil Identity", typ: single, msg: &counterpb.Reset{Counter: "c1"}, wantErr: true},
		{name: "nil message", typ: increment, msg: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id string
			var err error
			require.NotPanics(t, func() { id, err = tt.typ.Identity(tt.msg) })
			if tt.wantErr {
				requireErrorIs(t, err, ErrInvalid)
				require.Contains(t, err.Error(), incrementName)
				require.Empty(t, id)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, id)
		})
	}
}

func TestRegistryLookup(t *testing.T) {
	reg := specRegistry(t)
	increment, err := reg.Lookup(incrementName)
	require.NoError(t, err)
	require.Equal(t, incrementName, increment.Name())
	require.Equal(t, "counter", increment.Kind())
	require.True(t, proto.Equal(&counterpb.Increment{}, increment.New()))
	require.IsType(t, &counterpb.Increment{}, increment.New())
	require.NotSame(t, increment.New(), increment.New(), "New returns a fresh message")

	byMessage, err := reg.TypeOf(&counterpb.Increment{Counter: "c"})
	require.NoError(t, err)
	require.Same(t, increment, byMessage)

	tests := []struct {
		name    string
		lookup  func() (*Type, error)
		wantErr error
	}{
		{"Lookup of an unregistered name", func() (*Type, error) { return reg.Lookup("packetflow.examples.counter.v1.Value") }, ErrUnknownType},
		{"Lookup of the empty name", func() (*Type, error) { return reg.Lookup("") }, ErrUnknownType},
		{"Lookup is case-sensitive", func() (*Type, error) { return reg.Lookup(strings.ToLower(incrementName)) }, ErrUnknownType},
		{"TypeOf an unregistered message", func() (*Type, error) { return reg.TypeOf(&counterpb.Value{}) }, ErrUnknownType},
		{"TypeOf nil", func() (*Type, error) { return reg.TypeOf(nil) }, ErrInvalid},
		{"TypeOf a registered name of another Go type", func() (*Type, error) {
			return reg.TypeOf(dynamicpb.NewMessage((&counterpb.Increment{}).ProtoReflect().Descriptor()))
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, err := tt.lookup()
			require.ErrorIs(t, err, tt.wantErr)
			require.Nil(t, typ, "never nil, nil")
		})
	}
}

func TestRegistryNames(t *testing.T) {
	reg := NewRegistry(specCatalog(t))
	require.NotNil(t, reg.Names())
	require.Empty(t, reg.Names())
	// Registered out of order.
	_, err := Register(reg, Spec[*filesystempb.ReadFile]{Kind: "volume"})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*wrapperspb.StringValue]{Kind: "strings"})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Reset]{Kind: "counter"})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Increment]{Kind: "counter"})
	require.NoError(t, err)

	want := []string{"google.protobuf.StringValue", incrementName, resetName, readFileName}
	names := reg.Names()
	require.Equal(t, want, names)
	require.True(t, slices.IsSorted(names))
	names[0] = "changed"
	require.Equal(t, want, reg.Names(), "Names returns a copy")
}

// registration registers one message type, for the concurrency spec.
type registration struct {
	name     string
	msg      proto.Message
	register func(*Registry) (*Type, error)
}

func registrationOf[M proto.Message](kind string) registration {
	var zero M
	return registration{
		name: string(zero.ProtoReflect().Descriptor().FullName()),
		msg:  zero.ProtoReflect().Type().New().Interface(),
		register: func(r *Registry) (*Type, error) {
			return Register(r, Spec[M]{Kind: kind, Requires: []string{"user:basic"}})
		},
	}
}

func TestRegistryConcurrentRegisterAndLookup(t *testing.T) {
	defer goleak.VerifyNone(t)
	regs := []registration{
		registrationOf[*counterpb.Increment]("counter"),
		registrationOf[*counterpb.Reset]("counter"),
		registrationOf[*counterpb.Get]("counter"),
		registrationOf[*counterpb.Value]("counter"),
		registrationOf[*filesystempb.ReadFile]("volume"),
		registrationOf[*filesystempb.WriteFile]("volume"),
		registrationOf[*filesystempb.DeleteFile]("volume"),
		registrationOf[*filesystempb.File]("volume"),
		registrationOf[*filesystempb.Deleted]("volume"),
		registrationOf[*wrapperspb.StringValue]("wrappers"),
		registrationOf[*wrapperspb.BytesValue]("wrappers"),
		registrationOf[*wrapperspb.BoolValue]("wrappers"),
		registrationOf[*wrapperspb.Int32Value]("wrappers"),
		registrationOf[*wrapperspb.Int64Value]("wrappers"),
		registrationOf[*wrapperspb.UInt32Value]("wrappers"),
		registrationOf[*wrapperspb.UInt64Value]("wrappers"),
		registrationOf[*wrapperspb.FloatValue]("wrappers"),
		registrationOf[*wrapperspb.DoubleValue]("wrappers"),
		registrationOf[*emptypb.Empty]("wellknown"),
		registrationOf[*timestamppb.Timestamp]("wellknown"),
		registrationOf[*durationpb.Duration]("wellknown"),
		registrationOf[*structpb.Struct]("wellknown"),
	}
	const writersPerType = 3
	const readers = 8

	reg := NewRegistry(specCatalog(t))
	var wins sync.Map // name -> *Type that won the registration
	var (
		mu       sync.Mutex
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}

	done := make(chan struct{})
	var readersWG sync.WaitGroup
	for range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			seen := map[string]*Type{}
			for {
				select {
				case <-done:
					return
				default:
				}
				names := reg.Names()
				if !slices.IsSorted(names) {
					fail(fmt.Errorf("names not sorted: %v", names))
				}
				for _, n := range names {
					typ, err := reg.Lookup(n)
					if err != nil || typ == nil {
						fail(fmt.Errorf("listed %s but Lookup: %v", n, err))
						continue
					}
					if prev, ok := seen[n]; ok && prev != typ {
						fail(fmt.Errorf("%s changed after registration", n))
					}
					seen[n] = typ
				}
				for _, r := range regs {
					if typ, err := reg.Lookup(r.name); (typ == nil) == (err == nil) || (err != nil && !errors.Is(err, ErrUnknownType)) {
						fail(fmt.Errorf("Lookup(%s) = %v, %v", r.name, typ, err))
					}
					// Registered or not yet, never anything else.
					if typ, err := reg.TypeOf(r.msg); (typ == nil) == (err == nil) || (err != nil && !errors.Is(err, ErrUnknownType)) {
						fail(fmt.Errorf("TypeOf(%s) = %v, %v", r.name, typ, err))
					}
				}
			}
		}()
	}

	var writersWG sync.WaitGroup
	for _, r := range regs {
		for range writersPerType {
			writersWG.Add(1)
			go func() {
				defer writersWG.Done()
				typ, err := r.register(reg)
				switch {
				case err == nil:
					if _, dup := wins.LoadOrStore(r.name, typ); dup {
						fail(fmt.Errorf("%s registered twice", r.name))
					}
				case !errors.Is(err, ErrDuplicate):
					fail(fmt.Errorf("register %s: %w", r.name, err))
				}
			}()
		}
	}
	writersWG.Wait()
	close(done)
	readersWG.Wait()
	require.Empty(t, failures)

	var want []string
	for _, r := range regs {
		want = append(want, r.name)
		won, ok := wins.Load(r.name)
		require.True(t, ok, "exactly one registration of %s succeeds", r.name)
		got, err := reg.Lookup(r.name)
		require.NoError(t, err)
		require.Same(t, won, got)
	}
	slices.Sort(want)
	require.Equal(t, want, reg.Names())
}

func TestRegistryFromJSON(t *testing.T) {
	reg := specRegistry(t)
	padded := []byte(`{"counter":"c1"}`)
	padded = append(padded, []byte(strings.Repeat(" ", MaxJSONBytes-len(padded)))...)
	oversize := []byte(`{"counter":"` + strings.Repeat("x", MaxJSONBytes) + `"}`)

	tests := []struct {
		name     string
		typeName string
		data     []byte
		want     proto.Message
		wantErr  error
		mentions string // the error names what was wrong
	}{
		{name: "protojson field names", typeName: incrementName, data: []byte(`{"counter":"c1","userId":"u1"}`), want: &counterpb.Increment{Counter: "c1", UserId: "u1"}},
		{name: "proto field names", typeName: incrementName, data: []byte(`{"counter":"c1","user_id":"u1"}`), want: &counterpb.Increment{Counter: "c1", UserId: "u1"}},
		{name: "empty object", typeName: resetName, data: []byte(`{}`), want: &counterpb.Reset{}},
		{name: "null field is unset", typeName: incrementName, data: []byte(`{"counter":null}`), want: &counterpb.Increment{}},
		{name: "exactly MaxJSONBytes", typeName: incrementName, data: padded, want: &counterpb.Increment{Counter: "c1"}},
		{name: "bytes field", typeName: "packetflow.examples.filesystem.v1.WriteFile", data: []byte(`{"path":"/a","content":"aGk="}`), want: &filesystempb.WriteFile{Path: "/a", Content: []byte("hi")}},

		{name: "unknown type", typeName: "packetflow.examples.counter.v1.Nope", data: []byte(`{}`), wantErr: ErrUnknownType, mentions: "packetflow.examples.counter.v1.Nope"},
		{name: "registered message name is not a prefix match", typeName: "Increment", data: []byte(`{}`), wantErr: ErrUnknownType, mentions: "Increment"},
		{name: "unknown field", typeName: incrementName, data: []byte(`{"counter":"c1","colour":"red"}`), wantErr: ErrInvalid, mentions: "colour"},
		{name: "wrong value type", typeName: incrementName, data: []byte(`{"counter":5}`), wantErr: ErrInvalid, mentions: "counter"},
		{name: "object for a string", typeName: incrementName, data: []byte(`{"counter":{}}`), wantErr: ErrInvalid, mentions: "counter"},
		{name: "duplicate field", typeName: incrementName, data: []byte(`{"counter":"a","counter":"b"}`), wantErr: ErrInvalid, mentions: "duplicate"},
		{name: "malformed JSON", typeName: incrementName, data: []byte(`{"counter":`), wantErr: ErrInvalid, mentions: incrementName},
		{name: "trailing garbage", typeName: incrementName, data: []byte(`{} {}`), wantErr: ErrInvalid, mentions: incrementName},
		{name: "empty input", typeName: incrementName, data: nil, wantErr: ErrInvalid, mentions: incrementName},
		{name: "JSON null", typeName: incrementName, data: []byte(`null`), wantErr: ErrInvalid, mentions: incrementName},
		{name: "JSON array", typeName: incrementName, data: []byte(`[]`), wantErr: ErrInvalid, mentions: incrementName},
		{name: "invalid UTF-8", typeName: incrementName, data: []byte("{\"counter\":\"\xff\"}"), wantErr: ErrInvalid, mentions: incrementName},
		{name: "bad base64", typeName: "packetflow.examples.filesystem.v1.WriteFile", data: []byte(`{"content":"!!"}`), wantErr: ErrInvalid, mentions: "content"},
		{name: "over MaxJSONBytes", typeName: incrementName, data: oversize, wantErr: ErrTooLarge, mentions: "limit"},
		{name: "over MaxJSONBytes by whitespace", typeName: incrementName, data: append(padded, ' '), wantErr: ErrTooLarge, mentions: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := reg.Names()
			before := map[string]*Type{}
			for _, n := range names {
				before[n], _ = reg.Lookup(n)
			}

			msg, err := reg.FromJSON(tt.typeName, tt.data)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Contains(t, err.Error(), tt.mentions)
				require.Nil(t, msg)
			} else {
				require.NoError(t, err)
				require.True(t, proto.Equal(tt.want, msg), "got %v, want %v", msg, tt.want)
			}

			require.Equal(t, names, reg.Names(), "FromJSON registers nothing")
			for n, typ := range before {
				got, err := reg.Lookup(n)
				require.NoError(t, err)
				require.Same(t, typ, got, "FromJSON changes nothing")
			}
		})
	}
}

func TestIdentityField(t *testing.T) {
	reg := NewRegistry(specCatalog(t))
	inc, err := Register(reg, Spec[*counterpb.Increment]{Kind: "counter", IdentityField: "counter"})
	require.NoError(t, err)
	require.False(t, inc.Idempotent())
	get, err := Register(reg, Spec[*counterpb.Get]{Kind: "counter", IdentityField: "counter", Idempotent: true})
	require.NoError(t, err)
	require.True(t, get.Idempotent())
	single, err := Register(reg, Spec[*counterpb.Reset]{Kind: "counter"})
	require.NoError(t, err)

	id, err := inc.Identity(&counterpb.Increment{Counter: "c1"})
	require.NoError(t, err)
	require.Equal(t, "c1", id)

	tests := []struct {
		name    string
		typ     *Type
		msg     proto.Message
		id      string
		want    string // the identity afterwards
		wantErr bool
	}{
		{name: "fills an empty field", typ: inc, msg: &counterpb.Increment{By: 2}, id: "c1", want: "c1"},
		{name: "same identity already set", typ: inc, msg: &counterpb.Increment{Counter: "c1"}, id: "c1", want: "c1"},
		{name: "another identity already set", typ: inc, msg: &counterpb.Increment{Counter: "c2"}, id: "c1", wantErr: true},
		{name: "empty id", typ: inc, msg: &counterpb.Increment{}, id: "", wantErr: true},
		{name: "id over the limit", typ: inc, msg: &counterpb.Increment{}, id: strings.Repeat("x", MaxIdentityBytes+1), wantErr: true},
		{name: "single instance type, its identity", typ: single, msg: &counterpb.Reset{}, id: DefaultIdentity, want: DefaultIdentity},
		{name: "single instance type, another id", typ: single, msg: &counterpb.Reset{}, id: "c1", wantErr: true},
		{name: "message of another type", typ: inc, msg: &counterpb.Get{}, id: "c1", wantErr: true},
		{name: "nil message", typ: inc, msg: nil, id: "c1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tt.typ.SetIdentity(tt.msg, tt.id) })
			if tt.wantErr {
				requireErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			got, err := tt.typ.Identity(tt.msg)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	bad := []struct {
		name string
		reg  func(*Registry) error
	}{
		{"no such field", func(r *Registry) error {
			_, err := Register(r, Spec[*counterpb.Increment]{Kind: "counter", IdentityField: "nope"})
			return err
		}},
		{"not a string field", func(r *Registry) error {
			_, err := Register(r, Spec[*counterpb.Increment]{Kind: "counter", IdentityField: "by"})
			return err
		}},
		{"both Identity and IdentityField", func(r *Registry) error {
			_, err := Register(r, Spec[*counterpb.Increment]{Kind: "counter", IdentityField: "counter", Identity: (*counterpb.Increment).GetCounter})
			return err
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			requireErrorIs(t, tt.reg(NewRegistry(specCatalog(t))), ErrInvalid)
		})
	}
}
