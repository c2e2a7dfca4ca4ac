package intent

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/packetflow/packetflow/capability"
)

// contextCatalog defines two domains with one implication each:
// user:admin implies user:basic, doc:write implies doc:read.
func contextCatalog(t require.TestingT) *capability.Catalog {
	cat := capability.NewCatalog()
	user, err := capability.NewSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic"))
	require.NoError(t, err)
	require.NoError(t, cat.Define(user))
	doc, err := capability.NewSchema("doc", []string{"read", "write"}, capability.Implies("write", "read"))
	require.NoError(t, err)
	require.NoError(t, cat.Define(doc))
	return cat
}

// contextUniverse is every capability contextCatalog knows.
var contextUniverse = []string{"user:basic", "user:admin", "doc:read", "doc:write"}

func parseCaps(t require.TestingT, texts ...string) []capability.Capability {
	caps := make([]capability.Capability, len(texts))
	for i, s := range texts {
		c, err := capability.Parse(s)
		require.NoError(t, err)
		caps[i] = c
	}
	return caps
}

func grantsOf(t require.TestingT, cat *capability.Catalog, texts ...string) *capability.GrantSet {
	var grants []capability.Grant
	for _, c := range parseCaps(t, texts...) {
		grants = append(grants, capability.Grant{Capability: c})
	}
	gs, err := cat.Grants(grants...)
	require.NoError(t, err)
	return gs
}

func requirementsOf(t require.TestingT, cat *capability.Catalog, texts ...string) capability.Requirements {
	reqs, err := cat.Require(parseCaps(t, texts...)...)
	require.NoError(t, err)
	return reqs
}

// satisfied lists which single capabilities of contextUniverse gs grants.
func satisfied(t require.TestingT, cat *capability.Catalog, gs *capability.GrantSet, now time.Time) []string {
	var out []string
	for _, c := range contextUniverse {
		if gs.Satisfies(requirementsOf(t, cat, c), now) {
			out = append(out, c)
		}
	}
	return out
}

func TestContextNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		require.Len(t, id, 16)
		require.Regexp(t, `^[0-9a-f]{16}$`, id)
		require.False(t, seen[id], "request id %s repeated", id)
		seen[id] = true
	}
}

// BenchmarkContextNewRequestID shows the cost of a fresh id: one allocation, the
// string (the race detector adds one).
func BenchmarkContextNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewRequestID()
	}
}

func TestContextPropagate(t *testing.T) {
	cat := contextCatalog(t)
	admin := grantsOf(t, cat, "user:admin")
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	first := Hop{Node: "n1", Actor: "entry", At: t0}
	hop := Hop{Node: "n2", Actor: "reactor", At: t0.Add(time.Second)}
	parent := &Context{Principal: "alice", SessionID: "s1", RequestID: "r1", Trace: []Hop{first}, Grants: admin}

	tests := []struct {
		name          string
		parent        *Context
		how           Propagation
		wantPrincipal string
		wantSession   string
		wantRequestID string // "" with newRequestID: a fresh id
		newRequestID  bool
		wantTrace     []Hop
		wantGrants    *capability.GrantSet
	}{
		{
			name: "inherit keeps who and why, new request id", parent: parent, how: Inherit,
			wantPrincipal: "alice", wantSession: "s1", newRequestID: true,
			wantTrace: []Hop{first, hop}, wantGrants: admin,
		},
		{
			name: "copy keeps everything, request id too", parent: parent, how: Copy,
			wantPrincipal: "alice", wantSession: "s1", wantRequestID: "r1",
			wantTrace: []Hop{first, hop}, wantGrants: admin,
		},
		{
			name: "nil context inherits nobody and nothing", parent: nil, how: Inherit,
			newRequestID: true, wantTrace: []Hop{hop},
		},
		{
			name: "nil context copies to nobody and nothing", parent: nil, how: Copy,
			wantTrace: []Hop{hop},
		},
		{
			name: "unknown propagation behaves as inherit", parent: parent, how: Propagation(7),
			wantPrincipal: "alice", wantSession: "s1", newRequestID: true,
			wantTrace: []Hop{first, hop}, wantGrants: admin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneContext(tt.parent)
			got := tt.parent.Propagate(tt.how, hop)
			require.NotNil(t, got)
			require.NotSame(t, tt.parent, got)
			require.Equal(t, tt.wantPrincipal, got.Principal)
			require.Equal(t, tt.wantSession, got.SessionID)
			if tt.newRequestID {
				require.Len(t, got.RequestID, 16)
				require.NotEqual(t, tt.parent.requestID(), got.RequestID)
			} else {
				require.Equal(t, tt.wantRequestID, got.RequestID)
			}
			require.Equal(t, tt.wantTrace, got.Trace)
			require.Same(t, tt.wantGrants, got.Grants)
			require.Equal(t, before, tt.parent, "the parent is not modified")
		})
	}
}

func cloneContext(c *Context) *Context {
	if c == nil {
		return nil
	}
	out := *c
	out.Trace = slices.Clone(c.Trace)
	return &out
}

func TestContextPropagateTraceNeverAliasesParent(t *testing.T) {
	// A parent trace with spare capacity: a careless append would let two
	// children write their hop into the same backing array.
	trace := make([]Hop, 1, 8)
	trace[0] = Hop{Node: "entry"}
	parent := &Context{Principal: "alice", Trace: trace}

	left := parent.Propagate(Inherit, Hop{Node: "left"})
	right := parent.Propagate(Copy, Hop{Node: "right"})
	left.Trace[0].Node = "changed by left"

	require.Equal(t, []Hop{{Node: "entry"}}, parent.Trace)
	require.Equal(t, []Hop{{Node: "changed by left"}, {Node: "left"}}, left.Trace)
	require.Equal(t, []Hop{{Node: "entry"}, {Node: "right"}}, right.Trace)
	require.Equal(t, Hop{}, trace[:2][1], "nothing written past the parent's length")
}

func TestContextPropagateNarrow(t *testing.T) {
	cat := contextCatalog(t)
	now := time.Now()
	parent := &Context{Principal: "alice", Grants: grantsOf(t, cat, "user:admin", "doc:write")}

	tests := []struct {
		name    string
		narrow  [][]string
		granted []string
	}{
		{name: "no narrowing keeps every grant", granted: []string{"user:basic", "user:admin", "doc:read", "doc:write"}},
		{name: "narrow to what is held", narrow: [][]string{{"user:admin"}}, granted: []string{"user:basic", "user:admin"}},
		{name: "narrow to an implied capability", narrow: [][]string{{"user:basic"}}, granted: []string{"user:basic"}},
		{name: "narrow to two domains", narrow: [][]string{{"user:basic", "doc:read"}}, granted: []string{"user:basic", "doc:read"}},
		{name: "narrows compose", narrow: [][]string{{"user:admin", "doc:read"}, {"doc:write", "doc:read"}}, granted: []string{"doc:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var limits []capability.Requirements
			for _, n := range tt.narrow {
				limits = append(limits, requirementsOf(t, cat, n...))
			}
			for _, how := range []Propagation{Inherit, Copy} {
				got := parent.Propagate(how, Hop{Node: "n"}, limits...)
				require.Equal(t, tt.granted, satisfied(t, cat, got.Grants, now), how.String())
			}
		})
	}

	t.Run("a later narrow cannot widen back", func(t *testing.T) {
		got := parent.Propagate(Inherit, Hop{}, requirementsOf(t, cat, "user:basic"), requirementsOf(t, cat, "user:admin", "doc:write"))
		require.Subset(t, []string{"user:basic"}, satisfied(t, cat, got.Grants, now))
	})

	t.Run("nil context stays without grants", func(t *testing.T) {
		got := (*Context)(nil).Propagate(Inherit, Hop{}, requirementsOf(t, cat, "user:basic"))
		require.Empty(t, satisfied(t, cat, got.Grants, now))
	})
}

// TestContextPropagateNeverAddsGrants: whatever the narrowing, a
// propagated context satisfies no requirement its parent did not.
func TestContextPropagateNeverAddsGrants(t *testing.T) {
	cat := contextCatalog(t)
	now := time.Now()
	rapid.Check(t, func(t *rapid.T) {
		parent := &Context{Principal: "p", Grants: drawGrants(t, cat, now, "parent")}
		var limits []capability.Requirements
		for _, n := range rapid.SliceOfN(rapid.SliceOfN(rapid.SampledFrom(contextUniverse), 1, 3), 0, 3).Draw(t, "narrow") {
			limits = append(limits, requirementsOf(t, cat, n...))
		}
		how := rapid.SampledFrom([]Propagation{Inherit, Copy}).Draw(t, "how")
		child := parent.Propagate(how, Hop{Node: "n"}, limits...)
		for _, reqs := range drawRequirementSets(t, cat) {
			if child.Grants.Satisfies(reqs, now) {
				require.True(t, parent.Grants.Satisfies(reqs, now), "child satisfies %v, parent does not", reqs.Capabilities())
			}
		}
	})
}

// drawGrants draws a grant set over contextUniverse; some grants have
// already expired at now.
func drawGrants(t *rapid.T, cat *capability.Catalog, now time.Time, label string) *capability.GrantSet {
	n := rapid.IntRange(0, 4).Draw(t, label+" size")
	if n == 0 && rapid.Bool().Draw(t, label+" nil") {
		return nil
	}
	var grants []capability.Grant
	for i := range n {
		c := parseCaps(t, rapid.SampledFrom(contextUniverse).Draw(t, label+" grant"))[0]
		g := capability.Grant{Capability: c}
		if rapid.Bool().Draw(t, label+" expired") {
			g.NotAfter = now.Add(-time.Duration(i+1) * time.Hour)
		}
		grants = append(grants, g)
	}
	gs, err := cat.Grants(grants...)
	require.NoError(t, err)
	return gs
}

// drawRequirementSets returns every single capability of contextUniverse
// plus a few drawn multi-capability sets.
func drawRequirementSets(t *rapid.T, cat *capability.Catalog) []capability.Requirements {
	var sets []capability.Requirements
	for _, c := range contextUniverse {
		sets = append(sets, requirementsOf(t, cat, c))
	}
	for _, s := range rapid.SliceOfN(rapid.SliceOfN(rapid.SampledFrom(contextUniverse), 2, 4), 0, 4).Draw(t, "requirement sets") {
		sets = append(sets, requirementsOf(t, cat, s...))
	}
	return sets
}

func TestCompose(t *testing.T) {
	cat := contextCatalog(t)
	now := time.Now()
	h1, h2, h3 := Hop{Node: "a1"}, Hop{Node: "a2"}, Hop{Node: "b1"}
	basic := grantsOf(t, cat, "user:basic")
	docs := grantsOf(t, cat, "doc:write")
	a := &Context{Principal: "alice", SessionID: "sa", RequestID: "ra", Trace: []Hop{h1, h2}, Grants: basic}
	b := &Context{Principal: "alice", SessionID: "sb", RequestID: "rb", Trace: []Hop{h3}, Grants: docs}
	bare := &Context{Principal: "alice"}

	tests := []struct {
		name          string
		a, b          *Context
		how           Composition
		wantErr       error
		wantSession   string
		wantRequestID string // "" means a fresh one
		wantTrace     []Hop
		wantGranted   []string
	}{
		{
			name: "merge unions grants and traces", a: a, b: b, how: Merge,
			wantSession: "sa", wantTrace: []Hop{h1, h2, h3},
			wantGranted: []string{"user:basic", "doc:read", "doc:write"},
		},
		{
			name: "merge takes b's session when a has none", a: bare, b: b, how: Merge,
			wantSession: "sb", wantTrace: []Hop{h3}, wantGranted: []string{"doc:read", "doc:write"},
		},
		{
			name: "merge with a bare context keeps a's grants", a: a, b: bare, how: Merge,
			wantSession: "sa", wantTrace: []Hop{h1, h2}, wantGranted: []string{"user:basic"},
		},
		{
			name: "override takes b's fields and grants", a: a, b: b, how: Override,
			wantSession: "sb", wantRequestID: "rb", wantTrace: []Hop{h3},
			wantGranted: []string{"doc:read", "doc:write"},
		},
		{
			name: "override keeps a's fields where b's are empty", a: a, b: bare, how: Override,
			wantSession: "sa", wantRequestID: "ra", wantTrace: []Hop{h1, h2},
			wantGranted: []string{"user:basic"},
		},
		{
			name: "merge of different principals", a: a, b: &Context{Principal: "mallory", Grants: docs}, how: Merge,
			wantErr: ErrPrincipalMismatch,
		},
		{
			name: "override of different principals", a: a, b: &Context{Principal: "mallory", Grants: docs}, how: Override,
			wantErr: ErrPrincipalMismatch,
		},
		{
			name: "a nil context is nobody's", a: nil, b: b, how: Merge,
			wantErr: ErrPrincipalMismatch,
		},
		{
			name: "two nil contexts merge to nothing", a: nil, b: nil, how: Merge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			beforeA, beforeB := cloneContext(tt.a), cloneContext(tt.b)
			got, err := Compose(tt.a, tt.b, tt.how)
			require.Equal(t, beforeA, tt.a, "a is not modified")
			require.Equal(t, beforeB, tt.b, "b is not modified")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.a.principal(), got.Principal)
			require.Equal(t, tt.wantSession, got.SessionID)
			if tt.wantRequestID == "" {
				require.Len(t, got.RequestID, 16)
				require.NotEqual(t, tt.a.requestID(), got.RequestID)
				require.NotEqual(t, tt.b.requestID(), got.RequestID)
			} else {
				require.Equal(t, tt.wantRequestID, got.RequestID)
			}
			require.Equal(t, tt.wantTrace, got.Trace)
			require.Equal(t, tt.wantGranted, satisfied(t, cat, got.Grants, now))
		})
	}

	t.Run("the result's trace is its own", func(t *testing.T) {
		for _, how := range []Composition{Merge, Override} {
			got, err := Compose(a, b, how)
			require.NoError(t, err)
			got.Trace[0].Node = "changed"
			require.Equal(t, []Hop{h1, h2}, a.Trace, how.String())
			require.Equal(t, []Hop{h3}, b.Trace, how.String())
		}
	})

	t.Run("unknown composition", func(t *testing.T) {
		_, err := Compose(a, b, Composition(9))
		require.EqualError(t, err, "intent: unknown composition Composition(9)")
	})

	t.Run("mismatch message", func(t *testing.T) {
		_, err := Compose(a, &Context{Principal: "mallory"}, Merge)
		require.EqualError(t, err, `intent: contexts of different principals cannot be merged: "alice" and "mallory"`)
	})
}

func (c *Context) requestID() string {
	if c == nil {
		return ""
	}
	return c.RequestID
}

// TestComposeNeverEscalates: composition never yields a context that holds
// a capability neither input held. Override's grants are exactly one
// input's, so it satisfies no requirement set that neither input satisfied.
// Merge's union may satisfy a multi-capability set that only the two
// inputs together satisfied (both are the same principal's), but never a
// single capability that neither held.
func TestComposeNeverEscalates(t *testing.T) {
	cat := contextCatalog(t)
	now := time.Now()
	rapid.Check(t, func(t *rapid.T) {
		a := &Context{Principal: "p", Grants: drawGrants(t, cat, now, "a")}
		b := &Context{Principal: "p", Grants: drawGrants(t, cat, now, "b")}

		merged, err := Compose(a, b, Merge)
		require.NoError(t, err)
		for _, c := range contextUniverse {
			reqs := requirementsOf(t, cat, c)
			if merged.Grants.Satisfies(reqs, now) {
				require.True(t, a.Grants.Satisfies(reqs, now) || b.Grants.Satisfies(reqs, now),
					"merge grants %s, neither input does", c)
			}
		}

		overridden, err := Compose(a, b, Override)
		require.NoError(t, err)
		for _, reqs := range drawRequirementSets(t, cat) {
			if overridden.Grants.Satisfies(reqs, now) {
				require.True(t, a.Grants.Satisfies(reqs, now) || b.Grants.Satisfies(reqs, now),
					"override satisfies %v, neither input does", reqs.Capabilities())
			}
		}

		// A different principal's context contributes nothing.
		for _, how := range []Composition{Merge, Override} {
			got, err := Compose(a, &Context{Principal: "q", Grants: b.Grants}, how)
			require.ErrorIs(t, err, ErrPrincipalMismatch)
			require.Nil(t, got)
		}
	})
}
