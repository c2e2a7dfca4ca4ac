package intent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/capability"
)

const (
	stringType = "google.protobuf.StringValue"
	int64Type  = "google.protobuf.Int64Value"
)

// pluginTypes registers two intent types to filter on.
func pluginTypes(t testing.TB) (str, num *Type) {
	t.Helper()
	reg := NewRegistry(capability.NewCatalog())
	str, err := Register(reg, Spec[*wrapperspb.StringValue]{Kind: "strings"})
	require.NoError(t, err)
	num, err = Register(reg, Spec[*wrapperspb.Int64Value]{Kind: "numbers"})
	require.NoError(t, err)
	require.Equal(t, stringType, str.Name())
	require.Equal(t, int64Type, num.Name())
	return str, num
}

func stringEnvelope(t testing.TB, s string) *Envelope {
	str, _ := pluginTypes(t)
	return &Envelope{
		ID:       "i1",
		Type:     str,
		Message:  wrapperspb.String(s),
		Metadata: map[string]string{"k": "v"},
		Context:  &Context{Principal: "alice", RequestID: "r1"},
	}
}

func accept(context.Context, *Envelope) error { return nil }

// stamp returns a transformer that appends name to the "trail" metadata.
func stamp(name string) func(context.Context, *Envelope) (*Envelope, error) {
	return func(_ context.Context, e *Envelope) (*Envelope, error) {
		out := e.Clone()
		if out.Metadata == nil {
			out.Metadata = map[string]string{}
		}
		out.Metadata["trail"] += name + ";"
		return out, nil
	}
}

func TestPluginsRegister(t *testing.T) {
	tests := []struct {
		name    string
		plugin  Plugin
		wantErr error
		wantMsg string
	}{
		{name: "validator only", plugin: Plugin{Name: "v", Validate: accept}},
		{name: "transformer only", plugin: Plugin{Name: "t", Transform: stamp("t")}},
		{name: "both", plugin: Plugin{Name: "vt", Validate: accept, Transform: stamp("vt")}},
		{
			name: "no name", plugin: Plugin{Validate: accept},
			wantErr: ErrInvalidPlugin, wantMsg: "intent: invalid plugin: plugin has no name",
		},
		{
			name: "neither function", plugin: Plugin{Name: "idle"},
			wantErr: ErrInvalidPlugin, wantMsg: `intent: invalid plugin: plugin "idle" has neither Validate nor Transform`,
		},
		{
			name: "empty type name", plugin: Plugin{Name: "typo", Types: []string{stringType, ""}, Validate: accept},
			wantErr: ErrInvalidPlugin, wantMsg: `intent: invalid plugin: plugin "typo" lists an empty intent type name`,
		},
		{
			name: "duplicate name", plugin: Plugin{Name: "existing", Transform: stamp("again")},
			wantErr: ErrPluginExists, wantMsg: `intent: plugin already registered: "existing"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps Plugins
			require.NoError(t, ps.Register(Plugin{Name: "existing", Validate: accept}))
			err := ps.Register(tt.plugin)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, []string{"existing", tt.plugin.Name}, ps.List())
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.EqualError(t, err, tt.wantMsg)
			require.Equal(t, []string{"existing"}, ps.List(), "a failed registration changes nothing")
		})
	}
}

func TestPluginsRegisterCopiesTypes(t *testing.T) {
	var ps Plugins
	types := []string{int64Type}
	require.NoError(t, ps.Register(Plugin{Name: "numbers only", Types: types, Transform: stamp("n")}))
	types[0] = stringType // the caller reuses its slice

	out, err := ps.Apply(context.Background(), stringEnvelope(t, "x"))
	require.NoError(t, err)
	require.Empty(t, out.Metadata["trail"])
}

func TestPluginsUnregister(t *testing.T) {
	var ps Plugins
	for _, name := range []string{"a", "b", "c"} {
		require.NoError(t, ps.Register(Plugin{Name: name, Validate: accept}))
	}

	require.NoError(t, ps.Unregister("b"))
	require.Equal(t, []string{"a", "c"}, ps.List())

	err := ps.Unregister("b")
	require.ErrorIs(t, err, ErrPluginNotFound)
	require.EqualError(t, err, `intent: plugin not found: "b"`)

	require.NoError(t, ps.Unregister("a"))
	require.NoError(t, ps.Unregister("c"))
	require.Empty(t, ps.List())

	require.NoError(t, ps.Register(Plugin{Name: "b", Validate: accept}), "a removed name can be registered again")
	require.Equal(t, []string{"b"}, ps.List())
}

func TestPluginsPriorityOrder(t *testing.T) {
	var ps Plugins
	var ran []string
	register := func(name string, priority int) {
		require.NoError(t, ps.Register(Plugin{
			Name:     name,
			Priority: priority,
			Validate: func(context.Context, *Envelope) error {
				ran = append(ran, name+".validate")
				return nil
			},
			Transform: func(ctx context.Context, e *Envelope) (*Envelope, error) {
				ran = append(ran, name+".transform")
				return stamp(name)(ctx, e)
			},
		}))
	}
	register("audit", 100)
	register("auth", -10)
	register("normalise", 0)
	register("enrich", 0)
	register("late-auth", -10)

	want := []string{"auth", "late-auth", "normalise", "enrich", "audit"}
	require.Equal(t, want, ps.List(), "lower priority first, then registration order")

	out, err := ps.Apply(context.Background(), stringEnvelope(t, "x"))
	require.NoError(t, err)
	require.Equal(t, "auth;late-auth;normalise;enrich;audit;", out.Metadata["trail"])
	var wantRan []string
	for _, name := range want {
		wantRan = append(wantRan, name+".validate", name+".transform")
	}
	require.Equal(t, wantRan, ran, "each plugin validates, then transforms")
}

func TestPluginsTypeFilter(t *testing.T) {
	str, num := pluginTypes(t)
	envelopes := map[string]*Envelope{
		"string":  {Type: str, Message: wrapperspb.String("s")},
		"int64":   {Type: num, Message: wrapperspb.Int64(1)},
		"untyped": {Message: wrapperspb.String("s")},
	}
	tests := []struct {
		name  string
		types []string
		runs  []string // envelopes the plugin runs on
	}{
		{name: "no types means every type", types: nil, runs: []string{"string", "int64", "untyped"}},
		{name: "one type", types: []string{stringType}, runs: []string{"string"}},
		{name: "two types", types: []string{int64Type, stringType}, runs: []string{"string", "int64"}},
		{name: "unregistered type name", types: []string{"example.Other"}, runs: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps Plugins
			require.NoError(t, ps.Register(Plugin{Name: "p", Types: tt.types, Transform: stamp("p")}))
			var runs []string
			for _, which := range []string{"string", "int64", "untyped"} {
				out, err := ps.Apply(context.Background(), envelopes[which])
				require.NoError(t, err)
				if out.Metadata["trail"] != "" {
					runs = append(runs, which)
				}
			}
			require.Equal(t, tt.runs, runs)
		})
	}
}

var errTooLong = errors.New("too long")

func TestPluginsRejection(t *testing.T) {
	otherGrants := grantsOf(t, contextCatalog(t), "user:admin")
	tests := []struct {
		name       string
		plugin     Plugin
		wantReason string
		wantIs     error // matched through the RejectedError, if set
	}{
		{
			name:       "validator error",
			plugin:     Plugin{Name: "length", Validate: func(context.Context, *Envelope) error { return fmt.Errorf("greeting: %w", errTooLong) }},
			wantReason: "greeting: too long", wantIs: errTooLong,
		},
		{
			name: "transformer error",
			plugin: Plugin{Name: "length", Transform: func(context.Context, *Envelope) (*Envelope, error) {
				return nil, errTooLong
			}},
			wantReason: "too long", wantIs: errTooLong,
		},
		{
			name:       "transformer returns no envelope",
			plugin:     Plugin{Name: "length", Transform: func(context.Context, *Envelope) (*Envelope, error) { return nil, nil }},
			wantReason: "transformer returned no envelope",
		},
		{
			name: "transformer drops the message",
			plugin: Plugin{Name: "length", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
				out := e.Clone()
				out.Message = nil
				return out, nil
			}},
			wantReason: "transformer removed the intent's message",
		},
		{
			name: "transformer changes the principal",
			plugin: Plugin{Name: "length", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
				out := e.Clone()
				out.Context = &Context{Principal: "root", Grants: e.Context.Grants}
				return out, nil
			}},
			wantReason: "transformer changed the intent's principal",
		},
		{
			name: "transformer changes the grants",
			plugin: Plugin{Name: "length", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
				out := e.Clone()
				out.Context = &Context{Principal: e.Context.Principal, Grants: otherGrants}
				return out, nil
			}},
			wantReason: "transformer changed the intent's grants",
		},
		{
			name:       "validator panics with a value",
			plugin:     Plugin{Name: "length", Validate: func(context.Context, *Envelope) error { panic("index out of range") }},
			wantReason: "panic: index out of range",
		},
		{
			name: "transformer panics with an error",
			plugin: Plugin{Name: "length", Transform: func(context.Context, *Envelope) (*Envelope, error) {
				panic(errTooLong)
			}},
			wantReason: "panic: too long", wantIs: errTooLong,
		},
		{
			name: "runtime error in a plugin",
			plugin: Plugin{Name: "length", Validate: func(_ context.Context, e *Envelope) error {
				var m map[string]string
				m["x"] = e.ID // assignment to entry in nil map
				return nil
			}},
			wantReason: "panic: assignment to entry in nil map",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps Plugins
			require.NoError(t, ps.Register(Plugin{Name: "first", Priority: -1, Transform: stamp("first")}))
			require.NoError(t, ps.Register(tt.plugin))
			laterRan := false
			require.NoError(t, ps.Register(Plugin{Name: "later", Priority: 1, Validate: func(context.Context, *Envelope) error {
				laterRan = true
				return nil
			}}))
			in := stringEnvelope(t, "hello")
			in.Context.Grants = grantsOf(t, contextCatalog(t), "user:basic")
			before := in.Clone()

			out, err := ps.Apply(context.Background(), in)

			require.Nil(t, out)
			var rejected *RejectedError
			require.ErrorAs(t, err, &rejected)
			require.Equal(t, "length", rejected.Plugin)
			require.EqualError(t, rejected.Reason, tt.wantReason)
			require.EqualError(t, err, `intent: rejected by plugin "length": `+tt.wantReason)
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			require.False(t, laterRan, "no plugin runs after a rejection")
			require.Equal(t, before, in, "the input envelope is unchanged")
		})
	}
}

func TestPluginsTransformerMayKeepContext(t *testing.T) {
	// Cloning keeps the same *Context, and so do transformers that replace
	// the context with one of the same principal and grant set.
	var ps Plugins
	require.NoError(t, ps.Register(Plugin{Name: "hop", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
		out := e.Clone()
		out.Context = e.Context.Propagate(Copy, Hop{Node: "plugins"})
		return out, nil
	}}))
	require.NoError(t, ps.Register(Plugin{Name: "upper", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
		out := e.Clone()
		out.Message = wrapperspb.String(strings.ToUpper(e.Message.(*wrapperspb.StringValue).GetValue()))
		return out, nil
	}}))
	in := stringEnvelope(t, "hello")
	in.Context.Grants = grantsOf(t, contextCatalog(t), "user:basic")

	out, err := ps.Apply(context.Background(), in)
	require.NoError(t, err)
	require.True(t, proto.Equal(wrapperspb.String("HELLO"), out.Message))
	require.Equal(t, []Hop{{Node: "plugins"}}, out.Context.Trace)
	require.Same(t, in.Context.Grants, out.Context.Grants)
	require.True(t, proto.Equal(wrapperspb.String("hello"), in.Message), "the input is unchanged")
	require.Empty(t, in.Context.Trace)
}

func TestPluginsApplyStopsWhenContextDone(t *testing.T) {
	var ps Plugins
	ran := false
	require.NoError(t, ps.Register(Plugin{Name: "p", Validate: func(context.Context, *Envelope) error {
		ran = true
		return nil
	}}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	out, err := ps.Apply(ctx, stringEnvelope(t, "x"))
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, out)
	require.False(t, ran)
}

func TestPluginsApplyNilEnvelope(t *testing.T) {
	var ps Plugins
	out, err := ps.Apply(context.Background(), nil)
	require.Nil(t, out)
	require.EqualError(t, err, "intent: apply plugins: nil envelope")
}

// TestPluginsConcurrentChange registers and unregisters plugins while eight
// goroutines apply them: every Apply sees a consistent set (the permanent
// plugin always ran, each transient one at most once) and -race is quiet.
func TestPluginsConcurrentChange(t *testing.T) {
	defer goleak.VerifyNone(t)
	var ps Plugins
	require.NoError(t, ps.Register(Plugin{Name: "permanent", Priority: 50, Transform: stamp("permanent")}))
	in := stringEnvelope(t, "x")
	in.Metadata = nil

	const readers, changes = 8, 300
	done := make(chan struct{})
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for applied := 0; ; applied++ {
				select {
				case <-done:
					if applied > 0 {
						errs <- nil
						return
					}
				default:
				}
				out, err := ps.Apply(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				trail := strings.Split(strings.TrimSuffix(out.Metadata["trail"], ";"), ";")
				if trail[len(trail)-1] != "permanent" {
					errs <- fmt.Errorf("trail %q does not end with the permanent plugin", trail)
					return
				}
				_ = ps.List()
			}
		})
	}
	for i := range changes {
		name := fmt.Sprintf("transient-%d", i%5)
		if err := ps.Register(Plugin{Name: name, Priority: i % 3, Transform: stamp(name)}); err != nil {
			require.ErrorIs(t, err, ErrPluginExists)
			require.NoError(t, ps.Unregister(name))
		}
	}
	close(done)
	wg.Wait()
	for range readers {
		require.NoError(t, <-errs)
	}
	require.Nil(t, in.Metadata, "the shared input was never modified")
}

func TestPluginsApplyWithoutPluginsDoesNotAllocate(t *testing.T) {
	e := stringEnvelope(t, "x")
	ctx := context.Background()

	var zero Plugins
	require.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = zero.Apply(ctx, e) }), "zero value")

	var emptied Plugins
	require.NoError(t, emptied.Register(Plugin{Name: "p", Validate: accept}))
	require.NoError(t, emptied.Unregister("p"))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = emptied.Apply(ctx, e) }), "after the last plugin is removed")

	out, err := zero.Apply(ctx, e)
	require.NoError(t, err)
	require.Same(t, e, out)
}

func BenchmarkPluginsApply(b *testing.B) {
	e := stringEnvelope(b, "x")
	ctx := context.Background()
	for _, n := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			var ps Plugins
			for i := range n {
				require.NoError(b, ps.Register(Plugin{Name: fmt.Sprint(i), Types: []string{stringType}, Validate: accept}))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ps.Apply(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPluginEnvelopeClone(t *testing.T) {
	require.Nil(t, (*Envelope)(nil).Clone())

	e := stringEnvelope(t, "x")
	c := e.Clone()
	require.NotSame(t, e, c)
	require.Equal(t, e, c)
	require.Same(t, e.Message, c.Message, "the message is shared")
	require.Same(t, e.Context, c.Context, "the context is shared")

	c.Metadata["k"] = "changed"
	c.Metadata["new"] = "x"
	require.Equal(t, map[string]string{"k": "v"}, e.Metadata, "the metadata is not")

	e.Metadata = nil
	require.Nil(t, e.Clone().Metadata)
}

func TestTransformerMayNotChangeTheIntentType(t *testing.T) {
	reg := NewRegistry(capability.NewCatalog())
	st, err := Register(reg, Spec[*wrapperspb.StringValue]{Kind: "k"})
	require.NoError(t, err)
	var ps Plugins
	require.NoError(t, ps.Register(Plugin{Name: "swap", Transform: func(_ context.Context, e *Envelope) (*Envelope, error) {
		out := e.Clone()
		out.Message = wrapperspb.Int64(1)
		return out, nil
	}}))
	_, err = ps.Apply(context.Background(), &Envelope{Type: st, Message: wrapperspb.String("x")})
	var rej *RejectedError
	require.ErrorAs(t, err, &rej)
	require.Equal(t, "swap", rej.Plugin)
	require.ErrorContains(t, err, "not a google.protobuf.StringValue")
}
