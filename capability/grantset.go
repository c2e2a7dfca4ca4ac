package capability

import "time"

// GrantSet is a compiled, immutable set of grants, made by Catalog.Grants.
// It is safe for concurrent use. A nil *GrantSet grants nothing, and all
// methods accept a nil receiver.
type GrantSet struct {
	entries []grantEntry // the check reads only these
	grants  []Grant      // grants[i] is what entries[i] was compiled from
	timed   bool         // some grant has a validity window
}

// Timed reports whether any grant in the set carries a validity window.
// When it does not, the outcome of Check does not depend on now, and a
// caller on a hot path may skip reading the clock.
func (gs *GrantSet) Timed() bool { return gs != nil && gs.timed }

// Check returns nil when the set satisfies every requirement at now, and
// otherwise a *DeniedError listing exactly the unsatisfied requirements.
// A grant satisfies a requirement when its domain is the same, its
// operation implies the required one, its resource covers the required one
// and now is in its window. Requirements and grants must come from the
// same Catalog: domains are compared by schema identity. Check does not
// allocate when it returns nil.
func (gs *GrantSet) Check(reqs Requirements, now time.Time) error {
	entries := gs.compiled()
	n := nowNanos(now)
	for i := range reqs {
		if !satisfiedBy(entries, &reqs[i].term, n) {
			return &DeniedError{Missing: missingFrom(entries, reqs, i, n)}
		}
	}
	return nil
}

// Satisfies reports whether Check would return nil. It does not allocate.
func (gs *GrantSet) Satisfies(reqs Requirements, now time.Time) bool {
	entries := gs.compiled()
	n := nowNanos(now)
	for i := range reqs {
		if !satisfiedBy(entries, &reqs[i].term, n) {
			return false
		}
	}
	return true
}

// Missing returns the required capabilities the set does not satisfy at
// now, in requirement order; nil when it satisfies them all.
func (gs *GrantSet) Missing(reqs Requirements, now time.Time) []Capability {
	entries := gs.compiled()
	n := nowNanos(now)
	for i := range reqs {
		if !satisfiedBy(entries, &reqs[i].term, n) {
			return missingFrom(entries, reqs, i, n)
		}
	}
	return nil
}

// missingFrom lists the unsatisfied requirements, given that reqs[first]
// is the first of them.
func missingFrom(entries []grantEntry, reqs Requirements, first int, now int64) []Capability {
	missing := []Capability{reqs[first].capability}
	for i := first + 1; i < len(reqs); i++ {
		if !satisfiedBy(entries, &reqs[i].term, now) {
			missing = append(missing, reqs[i].capability)
		}
	}
	return missing
}

// satisfiedBy reports whether some entry satisfies r at now: same schema,
// implying operation, now in the window, covering resource. It is the hot
// loop of every check, so the integer tests come first and the resource
// test is inlined.
func satisfiedBy(entries []grantEntry, r *term, now int64) bool {
	for i := range entries {
		g := &entries[i]
		if g.schema != r.schema || g.implied&r.bit == 0 || now < g.notBefore || now >= g.notAfter {
			continue
		}
		if g.res.covers(&r.res) {
			return true
		}
	}
	return false
}

func (gs *GrantSet) compiled() []grantEntry {
	if gs == nil {
		return nil
	}
	return gs.entries
}

// Grants returns a copy of the grants, with canonical capabilities.
func (gs *GrantSet) Grants() []Grant {
	if gs == nil || len(gs.grants) == 0 {
		return nil
	}
	return append([]Grant(nil), gs.grants...)
}

// Len is the number of grants.
func (gs *GrantSet) Len() int {
	if gs == nil {
		return 0
	}
	return len(gs.grants)
}

// Filter returns the grants for which keep returns true. The result is
// never wider than gs. A nil keep keeps nothing.
func (gs *GrantSet) Filter(keep func(Grant) bool) *GrantSet {
	if gs == nil {
		return nil
	}
	b := newGrantSetBuilder(0)
	for i, g := range gs.grants {
		if keep != nil && keep(g) {
			b.add(g, gs.entries[i])
		}
	}
	return b.build()
}

// Narrow attenuates gs to limit. The result holds
//
//   - every grant g of gs that some l in limit covers, and
//   - every l in limit that some grant g of gs covers, with g's window,
//
// where x covers y when they are in the same domain, x's operation implies
// y's and x's resource covers y's. The result never satisfies a
// requirement that gs does not, nor one that no l in limit covers.
func (gs *GrantSet) Narrow(limit Requirements) *GrantSet {
	if gs == nil {
		return nil
	}
	b := newGrantSetBuilder(0)
	for i := range gs.entries {
		g := &gs.entries[i]
		for j := range limit {
			if limit[j].term.covers(&g.term) {
				b.add(gs.grants[i], *g)
				break
			}
		}
	}
	for j := range limit {
		l := &limit[j]
		for i := range gs.entries {
			g := &gs.entries[i]
			if g.term.covers(&l.term) {
				src := gs.grants[i]
				b.add(Grant{Capability: l.capability, NotBefore: src.NotBefore, NotAfter: src.NotAfter},
					grantEntry{term: l.term, notBefore: g.notBefore, notAfter: g.notAfter})
			}
		}
	}
	return b.build()
}

// Union returns the grants of gs and other. Either may be nil.
func (gs *GrantSet) Union(other *GrantSet) *GrantSet {
	switch {
	case gs == nil:
		return other
	case other == nil:
		return gs
	}
	b := newGrantSetBuilder(gs.Len() + other.Len())
	for _, s := range [...]*GrantSet{gs, other} {
		for i := range s.entries {
			b.add(s.grants[i], s.entries[i])
		}
	}
	return b.build()
}

// grantSetBuilder collects compiled grants, keeping each once.
type grantSetBuilder struct {
	set  GrantSet
	seen map[grantKey]struct{}
}

func newGrantSetBuilder(n int) *grantSetBuilder {
	return &grantSetBuilder{
		set:  GrantSet{entries: make([]grantEntry, 0, n), grants: make([]Grant, 0, n)},
		seen: make(map[grantKey]struct{}, n),
	}
}

func (b *grantSetBuilder) add(g Grant, e grantEntry) {
	k := e.key(g.Capability)
	if _, dup := b.seen[k]; dup {
		return
	}
	b.seen[k] = struct{}{}
	b.set.timed = b.set.timed || e.notBefore != minNanos || e.notAfter != maxNanos
	b.set.entries = append(b.set.entries, e)
	b.set.grants = append(b.set.grants, g)
}

func (b *grantSetBuilder) build() *GrantSet {
	s := b.set
	return &s
}
