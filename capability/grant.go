package capability

import (
	"strings"
	"time"
)

// Grant is a capability held for a window of time.
type Grant struct {
	Capability Capability
	NotBefore  time.Time // inclusive; zero = unbounded
	NotAfter   time.Time // exclusive; zero = unbounded
}

// String returns the capability, followed by its window when it has one:
// "file:read:/docs/* [2025-01-01T00:00:00Z, +inf)".
func (g Grant) String() string {
	if g.NotBefore.IsZero() && g.NotAfter.IsZero() {
		return g.Capability.String()
	}
	var b strings.Builder
	b.WriteString(g.Capability.String())
	b.WriteString(" [")
	if g.NotBefore.IsZero() {
		b.WriteString("-inf")
	} else {
		b.WriteString(g.NotBefore.Format(time.RFC3339Nano))
	}
	b.WriteString(", ")
	if g.NotAfter.IsZero() {
		b.WriteString("+inf")
	} else {
		b.WriteString(g.NotAfter.Format(time.RFC3339Nano))
	}
	b.WriteString(")")
	return b.String()
}

// ValidAt reports whether now is in [NotBefore, NotAfter).
func (g Grant) ValidAt(now time.Time) bool {
	return (g.NotBefore.IsZero() || !now.Before(g.NotBefore)) &&
		(g.NotAfter.IsZero() || now.Before(g.NotAfter))
}

// grantEntry is a compiled grant.
type grantEntry struct {
	term
	notBefore int64 // Unix nanoseconds, inclusive
	notAfter  int64 // Unix nanoseconds, exclusive
}

// satisfies reports whether the grant satisfies r at now (Unix nanoseconds).
func (g *grantEntry) satisfies(r *term, now int64) bool {
	return g.schema == r.schema && g.implied&r.bit != 0 &&
		g.notBefore <= now && now < g.notAfter &&
		g.res.covers(&r.res)
}

// key identifies a compiled grant for de-duplication.
type grantKey struct {
	schema              *Schema
	capability          Capability
	notBefore, notAfter int64
}

func (g *grantEntry) key(c Capability) grantKey {
	return grantKey{schema: g.schema, capability: c, notBefore: g.notBefore, notAfter: g.notAfter}
}
