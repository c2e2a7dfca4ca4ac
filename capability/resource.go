package capability

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Any is the resource that means every resource. An empty resource means
// the same for coverage.
const Any = "*"

const starReason = `"*" is allowed only as the whole resource or as a trailing "/*"`

// cleanResource validates a non-empty resource and returns its canonical
// form, or the offset within r of the problem and a reason.
//
// A resource containing "/" (or exactly "." or "..") is a path: it is
// cleaned with path.Clean, may end in "/*" (a subtree pattern), must not
// contain "*" anywhere else, and, when relative, must not escape its root
// with ".." or clean to nothing. Any other resource is an opaque name that
// matches only itself, except "*" which means any resource.
func cleanResource(r string) (string, int, string) {
	if r == "" {
		return "", 0, "empty resource"
	}
	if off, why := checkResourceChars(r); why != "" {
		return "", off, why
	}
	if r == Any {
		return r, 0, ""
	}
	if strings.IndexByte(r, '/') < 0 && r != "." && r != ".." {
		if i := strings.IndexByte(r, '*'); i >= 0 {
			return "", i, starReason
		}
		return r, 0, ""
	}
	base, pattern := r, false
	if strings.HasSuffix(r, "/*") {
		base, pattern = r[:len(r)-2], true
	}
	if i := strings.IndexByte(base, '*'); i >= 0 {
		return "", i, starReason
	}
	if base == "" { // "/*": every absolute path below the root
		return r, 0, ""
	}
	if base[0] != '/' {
		if off := escapeOffset(base); off >= 0 {
			return "", off, `relative path escapes its root with ".."`
		}
	}
	cleaned := path.Clean(base)
	switch {
	case cleaned == ".":
		return "", 0, "path names nothing once cleaned"
	case !pattern:
		return cleaned, 0, ""
	case cleaned == "/":
		return "/*", 0, ""
	case cleaned == base:
		return r, 0, ""
	default:
		return cleaned + "/*", 0, ""
	}
}

// checkResourceChars rejects invalid UTF-8, NUL, control characters and
// whitespace.
func checkResourceChars(r string) (int, string) {
	for i := 0; i < len(r); {
		c := r[i]
		if c < utf8.RuneSelf {
			switch {
			case c == 0:
				return i, "NUL byte in resource"
			case c < 0x20 || c == 0x7f:
				return i, fmt.Sprintf("control character %q in resource", rune(c))
			case c == ' ':
				return i, "whitespace in resource"
			}
			i++
			continue
		}
		ru, size := utf8.DecodeRuneInString(r[i:])
		switch {
		case ru == utf8.RuneError && size == 1:
			return i, "invalid UTF-8 in resource"
		case unicode.IsSpace(ru):
			return i, fmt.Sprintf("whitespace %q in resource", ru)
		case unicode.IsControl(ru):
			return i, fmt.Sprintf("control character %q in resource", ru)
		}
		i += size
	}
	return 0, ""
}

// escapeOffset returns the offset of the first ".." segment that climbs
// above the start of the relative path p, or -1.
func escapeOffset(p string) int {
	depth := 0
	for start := 0; start <= len(p); {
		end := strings.IndexByte(p[start:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += start
		}
		switch p[start:end] {
		case "", ".":
		case "..":
			if depth == 0 {
				return start
			}
			depth--
		default:
			depth++
		}
		start = end + 1
	}
	return -1
}

// resourceKind is how a compiled resource matches.
type resourceKind uint8

const (
	anyResource     resourceKind = iota // "" or "*": everything
	exactResource                       // a path or name: itself only
	subtreeResource                     // "p/*": everything strictly below p
)

// resource is a compiled canonical resource. For a subtree, prefix is the
// pattern without its final "*" ("/docs/"); otherwise it is the resource.
//
// hash and dirs let a check reject most non-matching resources without
// comparing strings: hash is the FNV-1a hash of prefix, and dirs has bit
// hashBit(p) set for every prefix p of prefix that ends in "/". A subtree
// g can cover r only if r.dirs has hashBit(g.prefix); an exact g can equal
// r only if the hashes are equal. Both are computed once, at compile time.
type resource struct {
	prefix string
	hash   uint64
	dirs   uint64
	kind   resourceKind
}

// compileResource compiles a canonical resource.
func compileResource(r string) resource {
	var c resource
	switch {
	case r == "" || r == Any:
		return resource{kind: anyResource}
	case strings.HasSuffix(r, "/*"):
		c = resource{kind: subtreeResource, prefix: r[:len(r)-1]}
	default:
		c = resource{kind: exactResource, prefix: r}
	}
	const offset, prime = 14695981039346656037, 1099511628211 // FNV-1a
	h := uint64(offset)
	for i := 0; i < len(c.prefix); i++ {
		h = (h ^ uint64(c.prefix[i])) * prime
		if c.prefix[i] == '/' {
			c.dirs |= hashBit(h)
		}
	}
	c.hash = h
	return c
}

// hashBit maps a hash to one of 64 bits.
func hashBit(h uint64) uint64 { return 1 << ((h ^ h>>32) & 63) }

// covers reports whether g covers r: every concrete resource r names, g
// names too.
func (g *resource) covers(r *resource) bool {
	switch g.kind {
	case anyResource:
		return true
	case exactResource:
		return r.kind == exactResource && r.hash == g.hash && r.prefix == g.prefix
	default: // subtree
		if r.dirs&hashBit(g.hash) == 0 || r.kind == anyResource {
			return false
		}
		if r.kind == exactResource {
			return len(r.prefix) > len(g.prefix) && r.prefix[:len(g.prefix)] == g.prefix
		}
		return strings.HasPrefix(r.prefix, g.prefix)
	}
}

// Covers reports whether a grant over the resource grant covers a
// requirement over the resource required. Both must be canonical (as
// returned by Parse or New); for other strings the answer is unspecified
// but Covers never panics.
//
//   - "" and "*" cover everything; only they cover "" and "*".
//   - "p/*" covers every path strictly below p and every pattern "q/*" with
//     q equal to or below p; it does not cover p itself, nor "px".
//   - anything else covers only itself.
func Covers(grant, required string) bool {
	g, r := compileResource(grant), compileResource(required)
	return g.covers(&r)
}
