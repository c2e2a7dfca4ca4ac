package capability_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/capability"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func cp(domain, op, resource string) capability.Capability {
	return capability.Capability{Domain: domain, Op: op, Resource: resource}
}

// longest is a valid capability string of exactly MaxLength bytes.
var longest = "file:read:/" + strings.Repeat("r", capability.MaxLength-len("file:read:/"))

func TestParseValid(t *testing.T) {
	name64 := strings.Repeat("a", capability.MaxNameLength)
	tests := []struct {
		in   string
		want capability.Capability
	}{
		{"user:basic", cp("user", "basic", "")},
		{"file:read:*", cp("file", "read", "*")},
		{"file:read:/docs/a.txt", cp("file", "read", "/docs/a.txt")},
		{"file:read:/docs/*", cp("file", "read", "/docs/*")},
		{"file:read:/*", cp("file", "read", "/*")},
		{"file:read:/", cp("file", "read", "/")},
		{"file:read:docs/*", cp("file", "read", "docs/*")},
		{"file:read:docs/a", cp("file", "read", "docs/a")},
		{"user:admin:alice", cp("user", "admin", "alice")},
		{"user:admin:...", cp("user", "admin", "...")},
		{"net:connect:10.0.0.1:443", cp("net", "connect", "10.0.0.1:443")},
		{"file:read:/a:b/c:d", cp("file", "read", "/a:b/c:d")},
		{"file:read:/ünï/cødé", cp("file", "read", "/ünï/cødé")},
		{"my_dom-2:op-x_9:r", cp("my_dom-2", "op-x_9", "r")},
		{name64 + ":" + name64, cp(name64, name64, "")},
		{longest, cp("file", "read", longest[len("file:read:"):])},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			got, err := capability.Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in, got.String(), "canonical input formats back as written")
		})
	}
}

func TestParseCleansResource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"file:read:/docs/../etc/passwd", "file:read:/etc/passwd"},
		{"file:read://docs//a/./b/", "file:read:/docs/a/b"},
		{"file:read:/../../x", "file:read:/x"},
		{"file:read:/docs/x/../*", "file:read:/docs/*"},
		{"file:read://*", "file:read:/*"},
		{"file:read:/docs/..//*", "file:read:/*"},
		{"file:read:a/../b", "file:read:b"},
		{"file:read:./docs/", "file:read:docs"},
		{"file:read:a/b/../../c/*", "file:read:c/*"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := capability.Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
			again, err := capability.Parse(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "cleaning is idempotent")
		})
	}
}

func TestParseErrors(t *testing.T) {
	name65 := strings.Repeat("a", capability.MaxNameLength+1)
	tests := []struct {
		in     string
		offset int
		reason string // a substring of the reason
	}{
		{"", 0, "empty domain"},
		{":read", 0, "empty domain"},
		{"user", 4, `missing ":" and operation`},
		{"file:", 5, "empty operation"},
		{"file::x", 5, "empty operation"},
		{"File:read", 0, "domain must start with a lowercase letter"},
		{"1file:read", 0, "domain must start with a lowercase letter"},
		{"_file:read", 0, "domain must start with a lowercase letter"},
		{"fi.le:read", 2, `invalid character "." in domain`},
		{"fiLe:read", 2, `invalid character "L" in domain`},
		{"fi\xffle:read", 2, `invalid character "\xff" in domain`},
		{"file:Read", 5, "operation must start with a lowercase letter"},
		{"file:re ad", 7, `invalid character " " in operation`},
		{"file:re/ad:x", 7, `invalid character "/" in operation`},
		{name65 + ":read", 64, "domain longer than 64 bytes"},
		{"file:" + name65, 5 + 64, "operation longer than 64 bytes"},
		{longest + "r", capability.MaxLength, "longer than 1024 bytes"},
		{"file:read:", 10, "empty resource"},
		{"file:read:/a b", 12, "whitespace in resource"},
		{"file:read:/a\u00a0b", 12, "whitespace"},
		{"file:read:/a\u2028b", 12, "whitespace"},
		{"file:read:/a\tb", 12, "control character"},
		{"file:read:/a\x7f", 12, "control character"},
		{"file:read:/a\u009bb", 12, "control character"},
		{"file:read:/a\x00", 12, "NUL byte in resource"},
		{"file:read:/a\xffb", 12, "invalid UTF-8"},
		{"file:read:/docs/*/x", 16, `"*" is allowed only`},
		{"file:read:/docs/**", 16, `"*" is allowed only`},
		{"file:read:/do*cs", 13, `"*" is allowed only`},
		{"file:read:/docs/*/", 16, `"*" is allowed only`},
		{"file:read:a*", 11, `"*" is allowed only`},
		{"file:read:**", 10, `"*" is allowed only`},
		{"file:read:*/", 10, `"*" is allowed only`},
		{"file:read:../x", 10, "escapes its root"},
		{"file:read:a/../../x", 15, "escapes its root"},
		{"file:read:./../*", 12, "escapes its root"},
		{"file:read:..", 10, "escapes its root"},
		{"file:read:.", 10, "names nothing"},
		{"file:read:a/..", 10, "names nothing"},
		{"file:read:./*", 10, "names nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			_, err := capability.Parse(tt.in)
			var pe *capability.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.in, pe.Input)
			assert.Equal(t, tt.offset, pe.Offset)
			assert.Contains(t, pe.Reason, tt.reason)
			assert.ErrorIs(t, err, capability.ErrInvalid)
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := capability.Parse("file::x")
	require.Error(t, err)
	assert.Equal(t, `capability: invalid "file::x" at offset 5: empty operation`, err.Error())

	_, err = capability.Parse(longest + "r")
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 300, "a long input is truncated in the message")
}

func TestMustParse(t *testing.T) {
	assert.Equal(t, cp("user", "basic", ""), capability.MustParse("user:basic"))
	assert.Panics(t, func() { capability.MustParse("user") })
}

func TestNew(t *testing.T) {
	c, err := capability.New("file", "read", "/docs/../etc/passwd")
	require.NoError(t, err)
	assert.Equal(t, cp("file", "read", "/etc/passwd"), c)

	c, err = capability.New("user", "basic", "")
	require.NoError(t, err)
	assert.Equal(t, "user:basic", c.String())

	c, err = capability.New("net", "connect", "host:443")
	require.NoError(t, err)
	assert.Equal(t, "net:connect:host:443", c.String())

	tests := []struct {
		domain, op, resource string
		offset               int
		reason               string
	}{
		{"fi:le", "read", "", 2, `invalid character ":" in domain`},
		{"file", "read:x", "", 9, `invalid character ":" in operation`},
		{"", "read", "", 0, "empty domain"},
		{"file", "", "", 5, "empty operation"},
		{"file", "read", "/a b", 12, "whitespace"},
		{"file", "read", "../x", 10, "escapes its root"},
		{"file", "read", longest[len("file:read:"):] + "r", capability.MaxLength, "longer than"},
	}
	for _, tt := range tests {
		_, err := capability.New(tt.domain, tt.op, tt.resource)
		var pe *capability.ParseError
		require.ErrorAs(t, err, &pe, "%q %q %q", tt.domain, tt.op, tt.resource)
		assert.Equal(t, tt.offset, pe.Offset, "%q %q %q", tt.domain, tt.op, tt.resource)
		assert.Contains(t, pe.Reason, tt.reason)
		assert.True(t, errors.Is(err, capability.ErrInvalid))
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "file", "a1", "a_b", "a-b", strings.Repeat("x", 64)} {
		assert.True(t, capability.ValidName(ok), ok)
	}
	for _, bad := range []string{"", "A", "1a", "-a", "a.b", "a:b", "ä", strings.Repeat("x", 65)} {
		assert.False(t, capability.ValidName(bad), bad)
	}
}
