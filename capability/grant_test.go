package capability_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/capability"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func grant(s string) capability.Grant { return capability.Grant{Capability: capability.MustParse(s)} }

func mustGrants(t testing.TB, c *capability.Catalog, grants ...capability.Grant) *capability.GrantSet {
	t.Helper()
	gs, err := c.Grants(grants...)
	require.NoError(t, err)
	return gs
}

func mustRequire(t testing.TB, c *capability.Catalog, caps ...string) capability.Requirements {
	t.Helper()
	cs := make([]capability.Capability, len(caps))
	for i, s := range caps {
		cs[i] = capability.MustParse(s)
	}
	reqs, err := c.Require(cs...)
	require.NoError(t, err)
	return reqs
}

func TestCheckRules(t *testing.T) {
	c := testCatalog(t)
	tests := []struct {
		grant, required string
		want            bool
	}{
		{"file:read:/docs/a", "file:read:/docs/a", true},
		{"file:admin:/docs/*", "file:read:/docs/a/b", true}, // implication and pattern
		{"file:write:/docs/*", "file:delete:/docs/a", false},
		{"file:read:/docs/*", "file:read:/docs", false},
		{"file:read:/docs/*", "file:read:/docsx", false},
		{"file:read:/docs/*", "file:read:/docs/../etc/passwd", false},
		{"file:read:*", "file:read:/etc/passwd", true},
		{"file:read", "file:read:/etc/passwd", true}, // empty resource is any
		{"file:read", "file:read", true},
		{"file:read:*", "file:read", true},
		{"file:read:/docs/*", "file:read", false}, // requirement over any resource
		{"file:read:/docs/*", "file:read:*", false},
		{"user:admin", "user:basic", true},
		{"user:admin", "file:read", false},      // other domain
		{"file:admin:*", "user:basic:x", false}, // other domain, same op name
		{"user:basic:alice", "user:basic:bob", false},
		{"file:list:*", "file:read:/docs/a", false},
	}
	for _, tt := range tests {
		gs := mustGrants(t, c, grant(tt.grant))
		reqs := mustRequire(t, c, tt.required)
		assert.Equal(t, tt.want, gs.Satisfies(reqs, t0), "%s satisfies %s", tt.grant, tt.required)
		err := gs.Check(reqs, t0)
		if tt.want {
			assert.NoError(t, err)
		} else {
			assert.ErrorIs(t, err, capability.ErrPermissionDenied)
		}
	}
}

func TestCheckListsExactlyTheMissing(t *testing.T) {
	c := testCatalog(t)
	gs := mustGrants(t, c, grant("file:write:/docs/*"), grant("user:basic"))
	reqs := mustRequire(t, c, "file:read:/docs/a", "user:admin", "file:read:/etc/passwd", "user:basic:alice", "file:delete:/docs/a")

	err := gs.Check(reqs, t0)
	var denied *capability.DeniedError
	require.ErrorAs(t, err, &denied)
	want := []capability.Capability{
		capability.MustParse("user:admin"),
		capability.MustParse("file:read:/etc/passwd"),
		capability.MustParse("file:delete:/docs/a"),
	}
	assert.Equal(t, want, denied.Missing)
	assert.Equal(t, want, gs.Missing(reqs, t0))
	assert.False(t, gs.Satisfies(reqs, t0))
	assert.Equal(t, "permission denied: missing user:admin, file:read:/etc/passwd, file:delete:/docs/a", err.Error())

	ok := mustRequire(t, c, "file:read:/docs/a", "user:basic:alice")
	assert.NoError(t, gs.Check(ok, t0))
	assert.Nil(t, gs.Missing(ok, t0))
	assert.True(t, gs.Satisfies(ok, t0))
}

func TestDeniedError(t *testing.T) {
	err := error(&capability.DeniedError{Missing: []capability.Capability{capability.MustParse("user:admin")}})
	assert.Equal(t, "permission denied: missing user:admin", err.Error())
	assert.True(t, errors.Is(err, capability.ErrPermissionDenied))
	assert.False(t, errors.Is(err, capability.ErrInvalid))
	assert.Equal(t, "permission denied", (&capability.DeniedError{}).Error())
}

func TestEmptyRequirementsAreSatisfied(t *testing.T) {
	c := testCatalog(t)
	var none *capability.GrantSet
	assert.NoError(t, none.Check(nil, t0))
	assert.True(t, none.Satisfies(capability.Requirements{}, t0))
	assert.NoError(t, mustGrants(t, c).Check(nil, t0))
}

func TestZeroRequirementIsNeverSatisfied(t *testing.T) {
	c := testCatalog(t)
	gs := mustGrants(t, c, grant("file:admin:*"), grant("user:admin"))
	assert.False(t, gs.Satisfies(capability.Requirements{{}}, t0))
}

func TestValidityWindow(t *testing.T) {
	c := testCatalog(t)
	nbf, naf := t0, t0.Add(time.Hour)
	g := capability.Grant{Capability: capability.MustParse("user:basic"), NotBefore: nbf, NotAfter: naf}
	gs := mustGrants(t, c, g)
	reqs := mustRequire(t, c, "user:basic")
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"before", nbf.Add(-time.Nanosecond), false},
		{"not_before is inclusive", nbf, true},
		{"inside", nbf.Add(30 * time.Minute), true},
		{"last instant", naf.Add(-time.Nanosecond), true},
		{"not_after is exclusive", naf, false},
		{"after", naf.Add(time.Nanosecond), false},
		{"other zone, same instant", nbf.In(time.FixedZone("x", 5*3600)), true},
		{"zero time", time.Time{}, false},
		{"far future", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, gs.Satisfies(reqs, tt.now), tt.name)
		assert.Equal(t, tt.want, g.ValidAt(tt.now), tt.name)
	}

	open := mustGrants(t, c,
		capability.Grant{Capability: capability.MustParse("file:read:/a"), NotBefore: nbf},
		capability.Grant{Capability: capability.MustParse("file:read:/b"), NotAfter: naf},
	)
	for _, tt := range []struct {
		req  string
		now  time.Time
		want bool
	}{
		{"file:read:/a", nbf.Add(-1), false},
		{"file:read:/a", nbf, true},
		{"file:read:/a", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"file:read:/b", time.Time{}, true},
		{"file:read:/b", naf, false},
	} {
		assert.Equal(t, tt.want, open.Satisfies(mustRequire(t, c, tt.req), tt.now), "%s at %s", tt.req, tt.now)
	}
}

func TestGrantsRejectsEmptyWindow(t *testing.T) {
	c := testCatalog(t)
	for _, naf := range []time.Time{t0, t0.Add(-time.Second)} {
		_, err := c.Grants(capability.Grant{Capability: capability.MustParse("user:basic"), NotBefore: t0, NotAfter: naf})
		assert.ErrorIs(t, err, capability.ErrInvalid)
	}
	_, err := c.Grants(grant("net:connect"))
	assert.ErrorIs(t, err, capability.ErrUnknownDomain)
	_, err = c.Grants(grant("file:fly"))
	assert.ErrorIs(t, err, capability.ErrUnknownOperation)
	_, err = c.Grants(capability.Grant{})
	assert.ErrorIs(t, err, capability.ErrInvalid)
}

func TestGrantString(t *testing.T) {
	assert.Equal(t, "user:basic", grant("user:basic").String())
	g := capability.Grant{Capability: capability.MustParse("file:read:/docs/*"), NotBefore: t0}
	assert.Equal(t, "file:read:/docs/* [2025-06-01T12:00:00Z, +inf)", g.String())
	g = capability.Grant{Capability: capability.MustParse("file:read"), NotAfter: t0}
	assert.Equal(t, "file:read [-inf, 2025-06-01T12:00:00Z)", g.String())
}

func TestNilGrantSet(t *testing.T) {
	c := testCatalog(t)
	var gs *capability.GrantSet
	reqs := mustRequire(t, c, "user:basic", "file:read:/x")
	err := gs.Check(reqs, t0)
	var denied *capability.DeniedError
	require.ErrorAs(t, err, &denied)
	assert.Equal(t, reqs.Capabilities(), denied.Missing)
	assert.False(t, gs.Satisfies(reqs, t0))
	assert.Equal(t, reqs.Capabilities(), gs.Missing(reqs, t0))
	assert.Nil(t, gs.Grants())
	assert.Zero(t, gs.Len())
	assert.Nil(t, gs.Filter(func(capability.Grant) bool { return true }))
	assert.Nil(t, gs.Narrow(reqs))
	assert.Nil(t, gs.Union(nil))
	other := mustGrants(t, c, grant("user:basic"))
	assert.Same(t, other, gs.Union(other))
	assert.Same(t, other, other.Union(nil))
}

func TestGrantSetContents(t *testing.T) {
	c := testCatalog(t)
	gs := mustGrants(t, c,
		capability.Grant{Capability: capability.Capability{Domain: "file", Op: "read", Resource: "/docs/../x"}},
		grant("user:basic"),
		grant("user:basic"), // duplicate, kept once
	)
	assert.Equal(t, 2, gs.Len())
	got := gs.Grants()
	assert.Equal(t, []capability.Grant{grant("file:read:/x"), grant("user:basic")}, got)
	got[0] = grant("file:admin:*")
	assert.Equal(t, grant("file:read:/x"), gs.Grants()[0], "Grants returns a copy")
}

func TestFilter(t *testing.T) {
	c := testCatalog(t)
	gs := mustGrants(t, c, grant("file:admin:/docs/*"), grant("user:basic"))
	onlyFile := gs.Filter(func(g capability.Grant) bool { return g.Capability.Domain == "file" })
	assert.Equal(t, []capability.Grant{grant("file:admin:/docs/*")}, onlyFile.Grants())
	assert.True(t, onlyFile.Satisfies(mustRequire(t, c, "file:read:/docs/a"), t0))
	assert.False(t, onlyFile.Satisfies(mustRequire(t, c, "user:basic"), t0))
	assert.Zero(t, gs.Filter(nil).Len())
	assert.Equal(t, 2, gs.Len(), "the original is unchanged")
}

func TestNarrow(t *testing.T) {
	c := testCatalog(t)
	window := capability.Grant{Capability: capability.MustParse("file:admin:/docs/*"), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	gs := mustGrants(t, c, window, grant("file:read:/docs/public/a"), grant("user:admin"))

	tests := []struct {
		name  string
		limit []string
		want  []capability.Grant
	}{
		{
			name:  "a narrower limit replaces the grant, keeping its window",
			limit: []string{"file:read:/docs/public/*"},
			want: []capability.Grant{
				grant("file:read:/docs/public/a"), // covered by the limit
				{Capability: capability.MustParse("file:read:/docs/public/*"), NotBefore: t0, NotAfter: t0.Add(time.Hour)},
			},
		},
		{
			name:  "a wider limit keeps the grants it covers",
			limit: []string{"file:admin:*", "user:admin"},
			want:  []capability.Grant{window, grant("file:read:/docs/public/a"), grant("user:admin")},
		},
		{
			name:  "a limit no grant covers adds nothing",
			limit: []string{"file:read:/etc/*", "file:admin:/docs"},
			want:  nil,
		},
		{
			name:  "implication narrows the operation",
			limit: []string{"user:basic"},
			want:  []capability.Grant{grant("user:basic")},
		},
		{
			name: "no limit, no grants",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gs.Narrow(mustRequire(t, c, tt.limit...))
			assert.Equal(t, tt.want, got.Grants())
		})
	}

	narrowed := gs.Narrow(mustRequire(t, c, "file:read:/docs/public/*"))
	assert.True(t, narrowed.Satisfies(mustRequire(t, c, "file:read:/docs/public/b"), t0))
	assert.False(t, narrowed.Satisfies(mustRequire(t, c, "file:read:/docs/public/b"), t0.Add(time.Hour)), "window kept")
	assert.False(t, narrowed.Satisfies(mustRequire(t, c, "file:write:/docs/public/b"), t0), "never wider than the limit")
	assert.False(t, narrowed.Satisfies(mustRequire(t, c, "file:read:/docs/private"), t0), "never wider than the limit")
}

func TestUnion(t *testing.T) {
	c := testCatalog(t)
	a := mustGrants(t, c, grant("file:read:/a"), grant("user:basic"))
	b := mustGrants(t, c, grant("user:basic"), grant("file:read:/b"))
	u := a.Union(b)
	assert.Equal(t, []capability.Grant{grant("file:read:/a"), grant("user:basic"), grant("file:read:/b")}, u.Grants())
	assert.True(t, u.Satisfies(mustRequire(t, c, "file:read:/a", "file:read:/b"), t0))
	assert.Equal(t, 2, a.Len(), "inputs unchanged")
}

func TestCheckDoesNotAllocateWhenSatisfied(t *testing.T) {
	c := testCatalog(t)
	gs := mustGrants(t, c, grant("user:basic"), grant("file:admin:/docs/*"))
	reqs := mustRequire(t, c, "file:read:/docs/a/b", "user:basic")
	allocs := testing.AllocsPerRun(100, func() {
		if err := gs.Check(reqs, t0); err != nil {
			t.Fatal(err)
		}
		if !gs.Satisfies(reqs, t0) {
			t.Fatal("not satisfied")
		}
	})
	assert.Zero(t, allocs)
}

func TestGrantSetTimed(t *testing.T) {
	c := capability.NewCatalog()
	s, err := capability.NewSchema("user", []string{"basic"})
	require.NoError(t, err)
	require.NoError(t, c.Define(s))
	plain, err := c.Grants(capability.Grant{Capability: capability.MustParse("user:basic")})
	require.NoError(t, err)
	require.False(t, plain.Timed())
	timed, err := c.Grants(capability.Grant{Capability: capability.MustParse("user:basic"), NotAfter: time.Unix(100, 0)})
	require.NoError(t, err)
	require.True(t, timed.Timed())
	require.True(t, plain.Union(timed).Timed())
	require.False(t, timed.Filter(func(capability.Grant) bool { return false }).Timed())
	var none *capability.GrantSet
	require.False(t, none.Timed())
}
