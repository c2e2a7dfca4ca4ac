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

// ValidAt reports whether now is in [NotBefore, NotAfter). A GrantSet
// compares the same window as Unix nanoseconds (wall clock, years 1678 to
// 2262; outside that range it fails closed).
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

// key identifies a compiled grant for de-duplication.
type grantKey struct {
	schema              *Schema
	capability          Capability
	notBefore, notAfter int64
}

func (g *grantEntry) key(c Capability) grantKey {
	return grantKey{schema: g.schema, capability: c, notBefore: g.notBefore, notAfter: g.notAfter}
}
