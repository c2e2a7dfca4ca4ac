package capability

import (
	"fmt"
	"slices"
	"sync"
)

// Catalog is the node-local set of schemas that requirements and grants
// are compiled against. Schemas can be added but never replaced or
// removed, so compiled requirements and grants stay valid. The zero value
// is an empty catalog; a Catalog is safe for concurrent use.
type Catalog struct {
	mu      sync.RWMutex
	schemas map[string]*Schema
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{} }

// Define adds s. A second schema for the same domain is an error wrapping
// ErrDuplicate; a nil schema, or one not built by NewSchema, wraps
// ErrInvalid.
func (c *Catalog) Define(s *Schema) error {
	if s == nil || s.closure == nil {
		return fmt.Errorf("%w schema: not built by NewSchema", ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.schemas[s.domain]; dup {
		return fmt.Errorf("%w domain %q", ErrDuplicate, s.domain)
	}
	if c.schemas == nil {
		c.schemas = make(map[string]*Schema)
	}
	c.schemas[s.domain] = s
	return nil
}

// Schema returns the schema of domain, or an error wrapping
// ErrUnknownDomain.
func (c *Catalog) Schema(domain string) (*Schema, error) {
	c.mu.RLock()
	s, ok := c.schemas[domain]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownDomain, domain)
	}
	return s, nil
}

// Domains returns the defined domains, sorted.
func (c *Catalog) Domains() []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.schemas))
	for d := range c.schemas {
		out = append(out, d)
	}
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Require compiles caps into Requirements for GrantSet.Check. Each
// capability is validated and its resource cleaned as by New; an unknown
// domain or operation is an error wrapping ErrUnknownDomain or
// ErrUnknownOperation.
func (c *Catalog) Require(caps ...Capability) (Requirements, error) {
	if len(caps) == 0 {
		return nil, nil
	}
	reqs := make(Requirements, len(caps))
	for i, cp := range caps {
		canon, t, err := c.compile(cp)
		if err != nil {
			return nil, err
		}
		reqs[i] = Requirement{capability: canon, term: t}
	}
	return reqs, nil
}

// Grants compiles grants into a GrantSet. Each capability is validated and
// its resource cleaned as by New; an unknown domain or operation is an
// error wrapping ErrUnknownDomain or ErrUnknownOperation, and a window with
// both bounds set and NotAfter not after NotBefore wraps ErrInvalid.
// Duplicates (same capability and window) are kept once.
func (c *Catalog) Grants(grants ...Grant) (*GrantSet, error) {
	b := newGrantSetBuilder(len(grants))
	for _, g := range grants {
		canon, t, err := c.compile(g.Capability)
		if err != nil {
			return nil, err
		}
		g.Capability = canon
		if !g.NotBefore.IsZero() && !g.NotAfter.IsZero() && !g.NotAfter.After(g.NotBefore) {
			return nil, fmt.Errorf("%w grant %s: not_after must be after not_before", ErrInvalid, g)
		}
		b.add(g, grantEntry{term: t, notBefore: boundNanos(g.NotBefore, minNanos), notAfter: boundNanos(g.NotAfter, maxNanos)})
	}
	return b.build(), nil
}

// compile validates cp and resolves it against the catalog's schemas.
func (c *Catalog) compile(cp Capability) (Capability, term, error) {
	canon, err := New(cp.Domain, cp.Op, cp.Resource)
	if err != nil {
		return Capability{}, term{}, err
	}
	s, err := c.Schema(canon.Domain)
	if err != nil {
		return Capability{}, term{}, fmt.Errorf("%w (in %s)", err, canon)
	}
	op, err := s.op(canon.Op)
	if err != nil {
		return Capability{}, term{}, fmt.Errorf("%w (in %s)", err, canon)
	}
	return canon, term{
		schema:  s,
		bit:     1 << op,
		implied: s.closure[op],
		res:     compileResource(canon.Resource),
	}, nil
}

// term is a compiled capability.
type term struct {
	schema  *Schema
	bit     uint64 // the operation itself
	implied uint64 // every operation it implies, itself included
	res     resource
}

// covers reports whether t covers u: same schema, t's operation implies
// u's and t's resource covers u's.
func (t *term) covers(u *term) bool {
	return t.schema == u.schema && t.implied&u.bit != 0 && t.res.covers(&u.res)
}
