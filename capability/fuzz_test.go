package capability_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/packetflow/packetflow/capability"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"user:basic", "file:read:*", "file:read:/docs/*", "file:read:/docs/../etc/passwd",
		"net:connect:10.0.0.1:443", "file::x", "file:read:", "file:read:a/../../b",
		"file:read:./*", "file:read:/a\x00", "file:read:/\xff", "file:read://*", "a:b:.",
		"file:read:docs/", "file:read:/docs/*/x", "file:read:\u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := capability.Parse(s)
		if err != nil {
			var pe *capability.ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Offset < 0 || pe.Offset > len(s) || pe.Reason == "" {
				t.Fatalf("Parse(%q): bad error %#v", s, err)
			}
			if !errors.Is(err, capability.ErrInvalid) {
				t.Fatalf("Parse(%q): error does not match ErrInvalid", s)
			}
			return
		}
		text := c.String()
		if len(text) > len(s) || len(text) > capability.MaxLength {
			t.Fatalf("Parse(%q).String() = %q is longer than the input", s, text)
		}
		if strings.ContainsAny(c.Resource, " \t\n\x00") {
			t.Fatalf("Parse(%q): resource %q has whitespace or NUL", s, c.Resource)
		}
		again, err := capability.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, text, err)
		}
		if again != c {
			t.Fatalf("Parse(%q) = %#v, but Parse(String()) = %#v", s, c, again)
		}
		if again.String() != text {
			t.Fatalf("canonical %q formats as %q", text, again.String())
		}
		if n, err := capability.New(c.Domain, c.Op, c.Resource); err != nil || n != c {
			t.Fatalf("New(%q, %q, %q) = %#v, %v; want %#v", c.Domain, c.Op, c.Resource, n, err, c)
		}
		if !capability.Covers(c.Resource, c.Resource) {
			t.Fatalf("resource %q does not cover itself", c.Resource)
		}
	})
}
