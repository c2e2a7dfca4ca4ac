package capability

import (
	"fmt"
	"strings"
)

// Limits of the text form.
const (
	// MaxLength is the longest capability string, in bytes.
	MaxLength = 1024
	// MaxNameLength is the longest domain or operation name, in bytes.
	MaxNameLength = 64
)

// Capability is the right to perform Op in Domain on Resource. Its text form
// is "domain:op" or "domain:op:resource".
//
// Values returned by Parse and New are canonical: names are valid and the
// resource is cleaned. An empty Resource means any resource, like "*", but
// formats without a third part.
type Capability struct {
	Domain   string
	Op       string
	Resource string
}

// Parse reads "domain:op" or "domain:op:resource", splitting on the first
// two colons (the resource may contain colons), and cleans the resource.
// Errors are *ParseError.
func Parse(s string) (Capability, error) {
	if len(s) > MaxLength {
		return Capability{}, &ParseError{Input: s, Offset: MaxLength, Reason: fmt.Sprintf("longer than %d bytes", MaxLength)}
	}
	colon := strings.IndexByte(s, ':')
	domain := s
	if colon >= 0 {
		domain = s[:colon]
	}
	if off, why := checkName(domain, "domain"); why != "" {
		return Capability{}, &ParseError{Input: s, Offset: off, Reason: why}
	}
	if colon < 0 {
		return Capability{}, &ParseError{Input: s, Offset: len(s), Reason: `missing ":" and operation`}
	}
	start := colon + 1
	rest := s[start:]
	op := rest
	colon = strings.IndexByte(rest, ':')
	if colon >= 0 {
		op = rest[:colon]
	}
	if off, why := checkName(op, "operation"); why != "" {
		return Capability{}, &ParseError{Input: s, Offset: start + off, Reason: why}
	}
	if colon < 0 {
		return Capability{Domain: domain, Op: op}, nil
	}
	start += colon + 1
	res, off, why := cleanResource(s[start:])
	if why != "" {
		return Capability{}, &ParseError{Input: s, Offset: start + off, Reason: why}
	}
	return Capability{Domain: domain, Op: op, Resource: res}, nil
}

// MustParse is Parse that panics on error, for tests and static tables.
func MustParse(s string) Capability {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// New validates domain, op and resource and returns the canonical
// capability (resource cleaned). An empty resource means none. Errors are
// *ParseError whose Input is the joined text form.
func New(domain, op, resource string) (Capability, error) {
	text := func() string {
		if resource == "" {
			return domain + ":" + op
		}
		return domain + ":" + op + ":" + resource
	}
	n := len(domain) + 1 + len(op)
	if resource != "" {
		n += 1 + len(resource)
	}
	if n > MaxLength {
		return Capability{}, &ParseError{Input: text(), Offset: MaxLength, Reason: fmt.Sprintf("longer than %d bytes", MaxLength)}
	}
	if off, why := checkName(domain, "domain"); why != "" {
		return Capability{}, &ParseError{Input: text(), Offset: off, Reason: why}
	}
	if off, why := checkName(op, "operation"); why != "" {
		return Capability{}, &ParseError{Input: text(), Offset: len(domain) + 1 + off, Reason: why}
	}
	if resource == "" {
		return Capability{Domain: domain, Op: op}, nil
	}
	res, off, why := cleanResource(resource)
	if why != "" {
		return Capability{}, &ParseError{Input: text(), Offset: len(domain) + 1 + len(op) + 1 + off, Reason: why}
	}
	return Capability{Domain: domain, Op: op, Resource: res}, nil
}

// String returns the text form: "domain:op", or "domain:op:resource" when
// Resource is not empty.
func (c Capability) String() string {
	if c.Resource == "" {
		return c.Domain + ":" + c.Op
	}
	return c.Domain + ":" + c.Op + ":" + c.Resource
}

// checkName validates a domain or operation name against
// [a-z][a-z0-9_-]{0,63}. It returns the offset of the problem within name
// and a reason, or "" when name is valid. what names the part ("domain").
func checkName(name, what string) (int, string) {
	if name == "" {
		return 0, "empty " + what
	}
	for i := 0; i < len(name); i++ {
		if i == MaxNameLength {
			return i, fmt.Sprintf("%s longer than %d bytes", what, MaxNameLength)
		}
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
		case i == 0:
			return 0, fmt.Sprintf("%s must start with a lowercase letter a-z, not %q", what, name[:1])
		case '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return i, fmt.Sprintf("invalid character %q in %s (allowed: a-z 0-9 _ -)", name[i:i+1], what)
		}
	}
	return 0, ""
}

// ValidName reports whether name is a valid domain or operation name:
// [a-z][a-z0-9_-]*, at most MaxNameLength bytes.
func ValidName(name string) bool {
	_, why := checkName(name, "")
	return why == ""
}
