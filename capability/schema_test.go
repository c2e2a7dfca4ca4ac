package capability_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/capability"
)

// fileSchema is admin ⇒ delete ⇒ write ⇒ read, plus an unrelated list.
func fileSchema(t testing.TB) *capability.Schema {
	t.Helper()
	s, err := capability.NewSchema("file",
		[]string{"read", "write", "delete", "admin", "list"},
		capability.Implies("admin", "delete"),
		capability.Implies("delete", "write"),
		capability.Implies("write", "read"),
	)
	require.NoError(t, err)
	return s
}

func TestSchemaImplies(t *testing.T) {
	s := fileSchema(t)
	assert.Equal(t, "file", s.Domain())
	assert.Equal(t, []string{"read", "write", "delete", "admin", "list"}, s.Ops())

	tests := []struct {
		from, to string
		want     bool
	}{
		{"read", "read", true}, // reflexive
		{"admin", "admin", true},
		{"write", "read", true},  // direct
		{"admin", "read", true},  // transitive
		{"delete", "read", true}, // transitive
		{"read", "write", false}, // not symmetric
		{"read", "admin", false},
		{"admin", "list", false}, // unrelated
		{"list", "read", false},
		{"list", "list", true},
	}
	for _, tt := range tests {
		got, err := s.Implies(tt.from, tt.to)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%s => %s", tt.from, tt.to)
	}

	_, err := s.Implies("fly", "read")
	assert.ErrorIs(t, err, capability.ErrUnknownOperation)
	_, err = s.Implies("read", "fly")
	assert.ErrorIs(t, err, capability.ErrUnknownOperation)
}

func TestSchemaImpliesDiamond(t *testing.T) {
	s, err := capability.NewSchema("doc",
		[]string{"owner", "edit", "comment", "view"},
		capability.Implies("owner", "edit", "comment"),
		capability.Implies("edit", "view"),
		capability.Implies("comment", "view"),
	)
	require.NoError(t, err)
	for _, op := range s.Ops() {
		ok, err := s.Implies("owner", op)
		require.NoError(t, err)
		assert.True(t, ok, op)
	}
	ok, err := s.Implies("edit", "comment")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, []capability.Implication{
		capability.Implies("owner", "edit", "comment"),
		capability.Implies("edit", "view"),
		capability.Implies("comment", "view"),
	}, s.Implications())
}

func TestSchemaErrors(t *testing.T) {
	ops65 := make([]string, 65)
	for i := range ops65 {
		ops65[i] = fmt.Sprintf("op%d", i)
	}
	tests := []struct {
		name     string
		domain   string
		ops      []string
		imps     []capability.Implication
		want     error
		contains []string
	}{
		{name: "bad domain", domain: "File", ops: []string{"read"}, want: capability.ErrInvalid, contains: []string{`"File"`, "offset 0"}},
		{name: "empty domain", domain: "", ops: []string{"read"}, want: capability.ErrInvalid, contains: []string{"empty domain"}},
		{name: "domain with colon", domain: "fi:le", ops: []string{"read"}, want: capability.ErrInvalid, contains: []string{"offset 2"}},
		{name: "bad op", domain: "file", ops: []string{"read", "Write"}, want: capability.ErrInvalid, contains: []string{`"Write"`}},
		{name: "no ops", domain: "file", want: capability.ErrInvalid, contains: []string{"no operations"}},
		{name: "too many ops", domain: "file", ops: ops65, want: capability.ErrInvalid, contains: []string{"65 operations, at most 64"}},
		{name: "duplicate op", domain: "file", ops: []string{"read", "write", "read"}, want: capability.ErrDuplicate, contains: []string{`"read"`}},
		{name: "unknown from", domain: "file", ops: []string{"read"}, imps: []capability.Implication{capability.Implies("admin", "read")}, want: capability.ErrUnknownOperation, contains: []string{`"admin"`}},
		{name: "unknown to", domain: "file", ops: []string{"read"}, imps: []capability.Implication{capability.Implies("read", "peek")}, want: capability.ErrUnknownOperation, contains: []string{`"peek"`}},
		{name: "no targets", domain: "file", ops: []string{"read"}, imps: []capability.Implication{capability.Implies("read")}, want: capability.ErrInvalid},
		{name: "duplicate edge in one implication", domain: "file", ops: []string{"read", "write"}, imps: []capability.Implication{capability.Implies("write", "read", "read")}, want: capability.ErrDuplicate, contains: []string{"write => read"}},
		{name: "duplicate edge across implications", domain: "file", ops: []string{"read", "write"}, imps: []capability.Implication{capability.Implies("write", "read"), capability.Implies("write", "read")}, want: capability.ErrDuplicate},
		{name: "self edge", domain: "file", ops: []string{"read"}, imps: []capability.Implication{capability.Implies("read", "read")}, want: capability.ErrCycle, contains: []string{"read => read"}},
		{name: "two-cycle", domain: "file", ops: []string{"a", "b"}, imps: []capability.Implication{capability.Implies("a", "b"), capability.Implies("b", "a")}, want: capability.ErrCycle, contains: []string{"a => b => a"}},
		{
			name: "cycle below an entry", domain: "file", ops: []string{"x", "a", "b", "c"},
			imps: []capability.Implication{capability.Implies("x", "a"), capability.Implies("a", "b"), capability.Implies("b", "c"), capability.Implies("c", "a")},
			want: capability.ErrCycle, contains: []string{"a => b => c => a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := capability.NewSchema(tt.domain, tt.ops, tt.imps...)
			assert.Nil(t, s)
			require.ErrorIs(t, err, tt.want)
			for _, c := range tt.contains {
				assert.Contains(t, err.Error(), c)
			}
		})
	}
}

func TestSchema64Ops(t *testing.T) {
	ops := make([]string, 64)
	var chain []capability.Implication
	for i := range ops {
		ops[i] = fmt.Sprintf("op%d", i)
		if i > 0 {
			chain = append(chain, capability.Implies(ops[i], ops[i-1]))
		}
	}
	s, err := capability.NewSchema("wide", ops, chain...)
	require.NoError(t, err)
	ok, err := s.Implies("op63", "op0")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Implies("op0", "op63")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestSchemaCopiesItsInput(t *testing.T) {
	ops := []string{"read", "write"}
	to := []string{"read"}
	s, err := capability.NewSchema("file", ops, capability.Implies("write", to...))
	require.NoError(t, err)
	ops[0], to[0] = "mutated", "mutated"
	assert.Equal(t, []string{"read", "write"}, s.Ops())
	s.Ops()[0] = "mutated"
	assert.Equal(t, []string{"read", "write"}, s.Ops())
	assert.Equal(t, []string{"read"}, s.Implications()[0].To)
}
