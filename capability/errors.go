package capability

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns matches one of them
// with errors.Is.
var (
	// ErrPermissionDenied matches every *DeniedError. Its text carries no
	// package prefix because it travels to callers as it is.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnknownDomain: no schema is defined for the domain.
	ErrUnknownDomain = errors.New("capability: unknown domain")
	// ErrUnknownOperation: the domain's schema does not declare the operation.
	ErrUnknownOperation = errors.New("capability: unknown operation")
	// ErrDuplicate: a domain, operation or implication edge is declared twice.
	ErrDuplicate = errors.New("capability: duplicate")
	// ErrCycle: the implications of a schema form a cycle.
	ErrCycle = errors.New("capability: implication cycle")
	// ErrInvalid: malformed input, such as a bad capability string (every
	// *ParseError matches it), a bad name or an empty validity window.
	ErrInvalid = errors.New("capability: invalid")
)

// maxErrorInput bounds how much of a bad input a ParseError's message
// quotes, so hostile input cannot flood logs.
const maxErrorInput = 128

// ParseError reports a malformed capability string or name: what is wrong
// and at which byte offset of Input. It matches ErrInvalid.
type ParseError struct {
	Input  string // the text that was parsed
	Offset int    // byte offset in Input where the problem is
	Reason string // what is wrong, for people
}

// Error returns, for example,
// `capability: invalid "file::x" at offset 5: empty operation`.
func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > maxErrorInput {
		in = in[:maxErrorInput] + "..."
	}
	return fmt.Sprintf("capability: invalid %q at offset %d: %s", in, e.Offset, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// DeniedError reports a failed check. Missing lists exactly the required
// capabilities that no grant satisfied, in requirement order.
type DeniedError struct {
	Missing []Capability
}

// Error returns "permission denied: missing a, b".
func (e *DeniedError) Error() string {
	if len(e.Missing) == 0 {
		return ErrPermissionDenied.Error()
	}
	var b strings.Builder
	b.WriteString(ErrPermissionDenied.Error())
	b.WriteString(": missing ")
	for i, c := range e.Missing {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	return b.String()
}

// Is reports whether target is ErrPermissionDenied.
func (e *DeniedError) Is(target error) bool { return target == ErrPermissionDenied }
