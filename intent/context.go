package intent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/packetflow/packetflow/capability"
)

// ErrPrincipalMismatch is returned by Compose when the two contexts run on
// behalf of different principals: combining them would let one principal act
// with the other's grants.
var ErrPrincipalMismatch = errors.New("intent: contexts of different principals cannot be merged")

// Propagation says how a context crosses a hop (see Context.Propagate).
type Propagation int

const (
	// Inherit continues the principal's work as a new request: same
	// principal, session and grants, a fresh request id.
	Inherit Propagation = iota
	// Copy continues the same request: every field, request id included, is
	// kept.
	Copy
)

// String returns "inherit", "copy" or "Propagation(n)".
func (p Propagation) String() string {
	switch p {
	case Inherit:
		return "inherit"
	case Copy:
		return "copy"
	default:
		return fmt.Sprintf("Propagation(%d)", int(p))
	}
}

// Composition says how Compose combines two contexts.
type Composition int

const (
	// Merge combines two contexts of one principal into one request: grants
	// are the union, traces are concatenated, and the result has a fresh
	// request id.
	Merge Composition = iota
	// Override lays the second context over the first: each of its
	// non-empty fields replaces the first's.
	Override
)

// String returns "merge", "override" or "Composition(n)".
func (c Composition) String() string {
	switch c {
	case Merge:
		return "merge"
	case Override:
		return "override"
	default:
		return fmt.Sprintf("Composition(%d)", int(c))
	}
}

// NewRequestID returns a fresh request id: 16 lower-case hex digits from 64
// bits of crypto/rand. It makes one allocation, the returned string.
func NewRequestID() string {
	var raw [8]byte
	_, _ = rand.Read(raw[:]) // never fails: crypto/rand aborts the process instead
	var text [16]byte
	hex.Encode(text[:], raw[:])
	return string(text[:])
}

// Propagate returns the context an intent carries across hop. The receiver
// is never modified and the result shares no mutable state with it: its
// trace is a new slice (the parent's trace followed by hop).
//
// With Inherit the result keeps the principal, session and grants and gets
// a new request id (NewRequestID); with Copy it is an exact copy, request id
// included. Any other Propagation value behaves as Inherit.
//
// Propagation never adds grants. Each requirement set in narrow attenuates
// the grants in turn (GrantSet.Narrow), so the result holds at most what
// every one of them allows. A nil context propagates to a context with no
// principal and no grants whose trace is just hop.
func (c *Context) Propagate(p Propagation, hop Hop, narrow ...capability.Requirements) *Context {
	var next Context
	if c != nil {
		next = *c
	}
	next.Trace = concatHops(next.Trace, []Hop{hop})
	if p != Copy {
		next.RequestID = NewRequestID()
	}
	for _, limit := range narrow {
		if next.Grants == nil {
			break // nothing granted, nothing to narrow
		}
		next.Grants = next.Grants.Narrow(limit)
	}
	return &next
}

// Compose combines two contexts into a new one; neither input is modified
// and the result shares no mutable state with them. A nil context counts as
// one with no principal and no grants.
//
// Both compositions require a and b to have the same principal and return
// ErrPrincipalMismatch otherwise, so a composed context never acts for anyone
// the inputs did not already act for. Within that rule:
//
//   - Merge: the principal's grants from both contexts (GrantSet.Union), a's
//     session unless it is empty (then b's), a's trace followed by b's, and a
//     new request id. Every single capability the result grants is granted
//     by a or by b: the union adds no capability, it only lets one request
//     use what the same principal already holds in two.
//   - Override: b's session, request id and trace where non-empty, a's
//     otherwise; b's grants if b holds any grant (even an expired one), a's
//     otherwise. The grants are always exactly one input's, never a
//     combination.
//
// An unknown Composition is an error.
func Compose(a, b *Context, how Composition) (*Context, error) {
	if how != Merge && how != Override {
		return nil, fmt.Errorf("intent: unknown composition %v", how)
	}
	var left, right Context
	if a != nil {
		left = *a
	}
	if b != nil {
		right = *b
	}
	if left.Principal != right.Principal {
		return nil, fmt.Errorf("%w: %q and %q", ErrPrincipalMismatch, left.Principal, right.Principal)
	}

	out := Context{Principal: left.Principal}
	switch how {
	case Merge:
		out.SessionID = firstNonEmpty(left.SessionID, right.SessionID)
		out.RequestID = NewRequestID()
		out.Trace = concatHops(left.Trace, right.Trace)
		out.Grants = left.Grants.Union(right.Grants)
	case Override:
		out.SessionID = firstNonEmpty(right.SessionID, left.SessionID)
		out.RequestID = firstNonEmpty(right.RequestID, left.RequestID)
		if len(right.Trace) > 0 {
			out.Trace = concatHops(right.Trace, nil)
		} else {
			out.Trace = concatHops(left.Trace, nil)
		}
		out.Grants = left.Grants
		if right.Grants.Len() > 0 {
			out.Grants = right.Grants
		}
	}
	return &out, nil
}

// principal returns c's principal, "" for a nil context.
func (c *Context) principal() string {
	if c == nil {
		return ""
	}
	return c.Principal
}

// grants returns c's grants, nil for a nil context.
func (c *Context) grants() *capability.GrantSet {
	if c == nil {
		return nil
	}
	return c.Grants
}

// concatHops returns a new slice holding first then second (nil when both
// are empty), never aliasing either argument's backing array.
func concatHops(first, second []Hop) []Hop {
	n := len(first) + len(second)
	if n == 0 {
		return nil
	}
	out := make([]Hop, 0, n)
	out = append(out, first...)
	return append(out, second...)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
