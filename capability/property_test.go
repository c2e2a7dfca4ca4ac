package capability_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/packetflow/packetflow/capability"
)

// Generators.

// canonicalPath draws a canonical path resource over a tiny alphabet, so
// that generated resources often relate: "/", "/a/b", "/a/*", "a/b/*", ...
func canonicalPath() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		relative := rapid.Bool().Draw(t, "relative")
		segs := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c"}), 0, 3).Draw(t, "segs")
		pattern := rapid.Bool().Draw(t, "pattern")
		if relative && len(segs) > 0 {
			p := strings.Join(segs, "/")
			if pattern || len(segs) == 1 { // one relative segment is a name, not a path
				return p + "/*"
			}
			return p
		}
		p := "/" + strings.Join(segs, "/")
		switch {
		case !pattern:
			return p
		case p == "/":
			return "/*"
		default:
			return p + "/*"
		}
	})
}

// anyResource draws a canonical resource of any kind.
func anyResource() *rapid.Generator[string] {
	return rapid.OneOf(canonicalPath(), rapid.SampledFrom([]string{"", "*", "alice", "bob"}))
}

// propertyCatalog is file (admin ⇒ delete ⇒ write ⇒ read, list) and user
// (admin ⇒ basic).
var propertyOps = map[string][]string{
	"file": {"read", "write", "delete", "admin", "list"},
	"user": {"basic", "admin"},
}

func drawCapability(t *rapid.T, label string) capability.Capability {
	domain := rapid.SampledFrom([]string{"file", "user"}).Draw(t, label+" domain")
	op := rapid.SampledFrom(propertyOps[domain]).Draw(t, label+" op")
	return capability.Capability{Domain: domain, Op: op, Resource: anyResource().Draw(t, label+" resource")}
}

// drawTime draws the zero time or a time within minutes of t0.
func drawTime(t *rapid.T, label string) time.Time {
	m := rapid.IntRange(-4, 4).Draw(t, label)
	if m == -4 {
		return time.Time{}
	}
	return t0.Add(time.Duration(m) * time.Minute)
}

func drawGrant(t *rapid.T, label string) capability.Grant {
	g := capability.Grant{Capability: drawCapability(t, label), NotBefore: drawTime(t, label+" nbf"), NotAfter: drawTime(t, label+" naf")}
	if !g.NotBefore.IsZero() && !g.NotAfter.IsZero() && !g.NotAfter.After(g.NotBefore) {
		g.NotAfter = g.NotBefore.Add(time.Minute)
	}
	return g
}

// drawNear draws a capability that is, half of the time, one of pool or a
// narrowing of it, so that generated grants, limits and requirements relate.
func drawNear(t *rapid.T, label string, pool []capability.Capability) capability.Capability {
	if len(pool) == 0 || rapid.Bool().Draw(t, label+" fresh") {
		return drawCapability(t, label)
	}
	c := rapid.SampledFrom(pool).Draw(t, label+" from pool")
	if rapid.Bool().Draw(t, label+" narrow op") {
		c.Op = rapid.SampledFrom(propertyOps[c.Domain]).Draw(t, label+" op")
	}
	if strings.HasSuffix(c.Resource, "/*") && rapid.Bool().Draw(t, label+" narrow resource") {
		c.Resource = c.Resource[:len(c.Resource)-1] + rapid.SampledFrom([]string{"a", "b", "c/*"}).Draw(t, label+" below")
	}
	return c
}

func capabilitiesOf(grants []capability.Grant) []capability.Capability {
	out := make([]capability.Capability, len(grants))
	for i, g := range grants {
		out[i] = g.Capability
	}
	return out
}

func drawGrants(t *rapid.T, label string) []capability.Grant {
	n := rapid.IntRange(0, 6).Draw(t, label+" count")
	out := make([]capability.Grant, n)
	for i := range out {
		out[i] = drawGrant(t, fmt.Sprintf("%s %d", label, i))
	}
	return out
}

// Models.

// coversModel states the rule directly: same domain, implying operation,
// covering resource.
func coversModel(t require.TestingT, c *capability.Catalog, grant, req capability.Capability) bool {
	if grant.Domain != req.Domain {
		return false
	}
	s, err := c.Schema(grant.Domain)
	require.NoError(t, err)
	ok, err := s.Implies(grant.Op, req.Op)
	require.NoError(t, err)
	return ok && capability.Covers(grant.Resource, req.Resource)
}

func satisfiesModel(t require.TestingT, c *capability.Catalog, grants []capability.Grant, req capability.Capability, now time.Time) bool {
	for _, g := range grants {
		if g.ValidAt(now) && coversModel(t, c, g.Capability, req) {
			return true
		}
	}
	return false
}

// Properties.

func TestPropertyImplicationIsTransitiveClosure(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "ops")
		ops := make([]string, n)
		for i := range ops {
			ops[i] = fmt.Sprintf("o%d", i)
		}
		// Edges go from higher to lower index, so there is no cycle.
		direct := make([][]bool, n)
		var imps []capability.Implication
		for i := range n {
			direct[i] = make([]bool, n)
			var to []string
			for j := range i {
				if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("edge %d %d", i, j)) == 0 {
					direct[i][j] = true
					to = append(to, ops[j])
				}
			}
			if len(to) > 0 {
				imps = append(imps, capability.Implies(ops[i], to...))
			}
		}
		order := rapid.Permutation(ops).Draw(t, "declaration order")
		s, err := capability.NewSchema("d", order, imps...)
		require.NoError(t, err)

		implies := func(a, b int) bool {
			ok, err := s.Implies(ops[a], ops[b])
			require.NoError(t, err)
			return ok
		}
		reach := func(a, b int) bool { // breadth-first search
			seen := map[int]bool{a: true}
			queue := []int{a}
			for len(queue) > 0 {
				x := queue[0]
				queue = queue[1:]
				for y := range n {
					if direct[x][y] && !seen[y] {
						seen[y] = true
						queue = append(queue, y)
					}
				}
			}
			return seen[b]
		}
		for a := range n {
			require.True(t, implies(a, a), "reflexive")
			for b := range n {
				require.Equal(t, reach(a, b), implies(a, b), "%s => %s", ops[a], ops[b])
				for c := range n {
					if implies(a, b) && implies(b, c) {
						require.True(t, implies(a, c), "transitive %s %s %s", ops[a], ops[b], ops[c])
					}
				}
			}
		}
	})
}

func TestPropertyCheckMatchesTheRule(t *testing.T) {
	c := testCatalog(t)
	rapid.Check(t, func(t *rapid.T) {
		grants := drawGrants(t, "grant")
		gs, err := c.Grants(grants...)
		require.NoError(t, err)
		req := drawNear(t, "req", capabilitiesOf(grants))
		now := drawTime(t, "now")
		reqs, err := c.Require(req)
		require.NoError(t, err)
		want := satisfiesModel(t, c, grants, req, now)
		require.Equal(t, want, gs.Satisfies(reqs, now))
		require.Equal(t, want, gs.Check(reqs, now) == nil)
	})
}

func TestPropertyRemovingAGrantNeverSatisfiesMore(t *testing.T) {
	c := testCatalog(t)
	rapid.Check(t, func(t *rapid.T) {
		grants := drawGrants(t, "grant")
		if len(grants) == 0 {
			return
		}
		gs, err := c.Grants(grants...)
		require.NoError(t, err)
		drop := rapid.IntRange(0, len(grants)-1).Draw(t, "drop")
		fewer, err := c.Grants(slices.Delete(slices.Clone(grants), drop, drop+1)...)
		require.NoError(t, err)
		filtered := gs.Filter(func(g capability.Grant) bool { return g != grants[drop] })

		pool := capabilitiesOf(grants)
		reqs, err := c.Require(drawNear(t, "req", pool), drawNear(t, "req2", pool))
		require.NoError(t, err)
		now := drawTime(t, "now")
		if fewer.Satisfies(reqs, now) || filtered.Satisfies(reqs, now) {
			require.True(t, gs.Satisfies(reqs, now))
		}
		require.Subset(t, fewer.Missing(reqs, now), gs.Missing(reqs, now))
	})
}

func TestPropertyNarrowNeverWidens(t *testing.T) {
	c := testCatalog(t)
	rapid.Check(t, func(t *rapid.T) {
		grants := drawGrants(t, "grant")
		gs, err := c.Grants(grants...)
		require.NoError(t, err)
		pool := capabilitiesOf(grants)
		limitCaps := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) capability.Capability { return drawNear(t, "limit", pool) }), 0, 4).Draw(t, "limits")
		limit, err := c.Require(limitCaps...)
		require.NoError(t, err)
		narrowed := gs.Narrow(limit)

		req := drawNear(t, "req", append(pool, limitCaps...))
		reqs, err := c.Require(req)
		require.NoError(t, err)
		now := drawTime(t, "now")
		if narrowed.Satisfies(reqs, now) {
			require.True(t, gs.Satisfies(reqs, now), "narrowed set satisfies %s which the original does not", req)
			inLimit := slices.ContainsFunc(limitCaps, func(l capability.Capability) bool { return coversModel(t, c, l, req) })
			require.True(t, inLimit, "narrowed set satisfies %s which no limit covers", req)
		}
		// Narrowing twice by the same limit changes nothing more.
		require.Equal(t, narrowed.Satisfies(reqs, now), narrowed.Narrow(limit).Satisfies(reqs, now))
	})
}

func TestPropertyCoverageIsAPartialOrder(t *testing.T) {
	res := rapid.OneOf(canonicalPath(), rapid.Just("*"))
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := res.Draw(t, "a"), res.Draw(t, "b"), res.Draw(t, "c")
		for _, r := range []string{a, b, c} {
			parsed, err := capability.New("file", "read", r)
			require.NoError(t, err)
			require.Equal(t, r, parsed.Resource, "generated resources are canonical")
		}
		assert.True(t, capability.Covers(a, a), "reflexive")
		if capability.Covers(a, b) && capability.Covers(b, a) {
			assert.Equal(t, a, b, "antisymmetric")
		}
		if capability.Covers(a, b) && capability.Covers(b, c) {
			assert.True(t, capability.Covers(a, c), "transitive: %s ⊒ %s ⊒ %s", a, b, c)
		}
	})
}

// coversReference is the coverage rule written plainly, without the
// compiled pre-filter.
func coversReference(grant, required string) bool {
	switch {
	case grant == "" || grant == "*":
		return true
	case required == "" || required == "*":
		return false
	case strings.HasSuffix(grant, "/*"):
		prefix := grant[:len(grant)-1]
		if strings.HasSuffix(required, "/*") {
			return strings.HasPrefix(required[:len(required)-1], prefix)
		}
		return len(required) > len(prefix) && strings.HasPrefix(required, prefix)
	default:
		return grant == required
	}
}

func TestPropertyCoversMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := anyResource().Draw(t, "grant"), anyResource().Draw(t, "required")
		require.Equal(t, coversReference(a, b), capability.Covers(a, b), "Covers(%q, %q)", a, b)
	})
}

func TestPropertyParseStringRoundTrip(t *testing.T) {
	name := rapid.OneOf(rapid.StringMatching(`[a-z][a-z0-9_-]{0,8}`), rapid.StringN(0, 4, -1))
	resource := rapid.OneOf(
		rapid.StringOfN(rapid.RuneFrom([]rune("ab/.*:-é")), 0, 16, -1),
		rapid.String(),
		anyResource(),
	)
	rapid.Check(t, func(t *rapid.T) {
		domain, op, r := name.Draw(t, "domain"), name.Draw(t, "op"), resource.Draw(t, "resource")
		c, err := capability.New(domain, op, r)
		text := domain + ":" + op
		if r != "" {
			text += ":" + r
		}
		parsed, perr := capability.Parse(text)
		if err != nil {
			var pe *capability.ParseError
			require.ErrorAs(t, err, &pe)
			if capability.ValidName(domain) && capability.ValidName(op) {
				require.Equal(t, perr, err, "New and Parse agree on errors")
			}
			return
		}
		require.NoError(t, perr)
		require.Equal(t, c, parsed, "New and Parse agree")
		s := c.String()
		again, err := capability.Parse(s)
		require.NoError(t, err)
		require.Equal(t, c, again, "Parse(c.String()) == c")
		require.Equal(t, s, again.String(), "canonical strings format back as written")
	})
}
