package capability

import (
	"fmt"
	"math/bits"
	"strings"
)

// maxOps is the most operations a schema may declare: implication closures
// are uint64 bitmasks.
const maxOps = 64

// Implication says that holding From implies holding each of To.
type Implication struct {
	From string
	To   []string
}

// Implies returns the implication from ⇒ each of to.
func Implies(from string, to ...string) Implication {
	return Implication{From: from, To: to}
}

// Schema is one domain's operations and the implications between them. It
// is immutable once built and safe for concurrent use.
type Schema struct {
	domain       string
	ops          []string
	index        map[string]int
	implications []Implication
	// closure[i] has bit j set when ops[i] implies ops[j], reflexively and
	// transitively.
	closure []uint64
}

// NewSchema declares domain with its operations and implications and
// computes the implication closure once.
//
// The domain and every operation must be valid names; operations must be
// unique (ErrDuplicate) and there must be 1 to 64 of them (ErrInvalid).
// Implications may name only declared operations (ErrUnknownOperation),
// must name at least one target (ErrInvalid), may not repeat an edge
// (ErrDuplicate) and may not form a cycle, including a ⇒ a (ErrCycle).
func NewSchema(domain string, ops []string, implications ...Implication) (*Schema, error) {
	if off, why := checkName(domain, "domain"); why != "" {
		return nil, &ParseError{Input: domain, Offset: off, Reason: why}
	}
	switch {
	case len(ops) == 0:
		return nil, fmt.Errorf("%w schema %q: no operations", ErrInvalid, domain)
	case len(ops) > maxOps:
		return nil, fmt.Errorf("%w schema %q: %d operations, at most %d", ErrInvalid, domain, len(ops), maxOps)
	}
	s := &Schema{
		domain: domain,
		ops:    append([]string(nil), ops...),
		index:  make(map[string]int, len(ops)),
	}
	for i, op := range ops {
		if off, why := checkName(op, "operation"); why != "" {
			return nil, &ParseError{Input: op, Offset: off, Reason: why}
		}
		if _, dup := s.index[op]; dup {
			return nil, fmt.Errorf("%w operation %q in schema %q", ErrDuplicate, op, domain)
		}
		s.index[op] = i
	}
	edges := make([]uint64, len(ops)) // edges[i]: direct implications of ops[i]
	for _, im := range implications {
		from, err := s.op(im.From)
		if err != nil {
			return nil, err
		}
		if len(im.To) == 0 {
			return nil, fmt.Errorf("%w schema %q: implication from %q names no operations", ErrInvalid, domain, im.From)
		}
		for _, name := range im.To {
			to, err := s.op(name)
			if err != nil {
				return nil, err
			}
			switch {
			case to == from:
				return nil, fmt.Errorf("%w in schema %q: %s => %s", ErrCycle, domain, name, name)
			case edges[from]&(1<<to) != 0:
				return nil, fmt.Errorf("%w implication %s => %s in schema %q", ErrDuplicate, im.From, name, domain)
			}
			edges[from] |= 1 << to
		}
		s.implications = append(s.implications, Implication{From: im.From, To: append([]string(nil), im.To...)})
	}
	closure, cycle := closeImplications(edges)
	if cycle != nil {
		names := make([]string, len(cycle))
		for i, op := range cycle {
			names[i] = ops[op]
		}
		return nil, fmt.Errorf("%w in schema %q: %s", ErrCycle, domain, strings.Join(names, " => "))
	}
	s.closure = closure
	return s, nil
}

// closeImplications returns the reflexive transitive closure of edges, or,
// when edges have a cycle, the cycle as op indexes whose last equals its
// first.
func closeImplications(edges []uint64) (closure []uint64, cycle []int) {
	const (
		unvisited = iota
		onPath
		done
	)
	closure = make([]uint64, len(edges))
	state := make([]uint8, len(edges))
	var stack []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = onPath
		stack = append(stack, i)
		closure[i] = 1 << i
		for rest := edges[i]; rest != 0; rest &= rest - 1 {
			j := bits.TrailingZeros64(rest)
			switch state[j] {
			case onPath:
				for k, op := range stack {
					if op == j {
						return append(append([]int(nil), stack[k:]...), j)
					}
				}
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
			closure[i] |= closure[j]
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range edges {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return nil, c
			}
		}
	}
	return closure, nil
}

// op returns the index of the operation name.
func (s *Schema) op(name string) (int, error) {
	i, ok := s.index[name]
	if !ok {
		return 0, fmt.Errorf("%w %q in schema %q", ErrUnknownOperation, name, s.domain)
	}
	return i, nil
}

// Domain is the domain the schema describes.
func (s *Schema) Domain() string { return s.domain }

// Ops returns a copy of the operations, in declaration order.
func (s *Schema) Ops() []string { return append([]string(nil), s.ops...) }

// Implications returns a copy of the implications, as declared.
func (s *Schema) Implications() []Implication {
	out := make([]Implication, len(s.implications))
	for i, im := range s.implications {
		out[i] = Implication{From: im.From, To: append([]string(nil), im.To...)}
	}
	return out
}

// Implies reports whether holding from implies holding to. Every operation
// implies itself, and implication is transitive. An undeclared operation
// is an error wrapping ErrUnknownOperation.
func (s *Schema) Implies(from, to string) (bool, error) {
	f, err := s.op(from)
	if err != nil {
		return false, err
	}
	t, err := s.op(to)
	if err != nil {
		return false, err
	}
	return s.closure[f]&(1<<t) != 0, nil
}
