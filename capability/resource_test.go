package capability_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/capability"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		grant, required string
		want            bool
	}{
		// Any: "" and "*" cover everything, and only they cover them.
		{"*", "/docs/a", true},
		{"*", "*", true},
		{"*", "", true},
		{"", "/docs/a", true},
		{"", "*", true},
		{"", "", true},
		{"*", "alice", true},
		{"/docs/*", "*", false},
		{"/docs/*", "", false},
		{"/*", "*", false},
		{"alice", "*", false},
		// Exact.
		{"/docs/a", "/docs/a", true},
		{"/docs/a", "/docs/b", false},
		{"/docs/a", "/docs/a/b", false},
		{"/docs", "/docs/a", false},
		{"/docs", "/docs/*", false},
		{"alice", "alice", true},
		{"alice", "bob", false},
		// Subtree patterns.
		{"/docs/*", "/docs/a", true},
		{"/docs/*", "/docs/a/b", true},
		{"/docs/*", "/docs", false},
		{"/docs/*", "/docsx", false},
		{"/docs/*", "/docsx/a", false},
		{"/docs/*", "/etc/passwd", false}, // what "/docs/../etc/passwd" parses to
		{"/docs/*", "/", false},
		{"/docs/*", "docs/a", false},
		{"docs/*", "docs/a", true},
		{"docs/*", "/docs/a", false},
		{"/*", "/docs", true},
		{"/*", "/docs/a/b", true},
		{"/*", "/", false},
		{"/*", "docs", false},
		// Patterns cover narrower patterns.
		{"/docs/*", "/docs/*", true},
		{"/docs/*", "/docs/a/*", true},
		{"/docs/*", "/docs/a/b/*", true},
		{"/docs/a/*", "/docs/*", false},
		{"/docs/*", "/docsx/*", false},
		{"/*", "/docs/*", true},
		{"/docs/a/*", "/docs/a", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, capability.Covers(tt.grant, tt.required), "Covers(%q, %q)", tt.grant, tt.required)
	}
}

func TestDotDotIsCleanedBeforeCoverage(t *testing.T) {
	req, err := capability.Parse("file:read:/docs/../etc/passwd")
	require.NoError(t, err)
	assert.Equal(t, "/etc/passwd", req.Resource)
	assert.False(t, capability.Covers("/docs/*", req.Resource))

	req, err = capability.Parse("file:read:/docs/a/../b")
	require.NoError(t, err)
	assert.True(t, capability.Covers("/docs/*", req.Resource))
}
