package capability_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/capability"
)

// testCatalog holds file (admin ⇒ delete ⇒ write ⇒ read, list) and user
// (admin ⇒ basic).
func testCatalog(t testing.TB) *capability.Catalog {
	t.Helper()
	c := capability.NewCatalog()
	require.NoError(t, c.Define(fileSchema(t)))
	user, err := capability.NewSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic"))
	require.NoError(t, err)
	require.NoError(t, c.Define(user))
	return c
}

func TestCatalogDefine(t *testing.T) {
	c := testCatalog(t)
	assert.Equal(t, []string{"file", "user"}, c.Domains())

	s, err := c.Schema("file")
	require.NoError(t, err)
	assert.Equal(t, "file", s.Domain())

	s, err = c.Schema("net")
	assert.Nil(t, s)
	assert.ErrorIs(t, err, capability.ErrUnknownDomain)

	err = c.Define(fileSchema(t))
	assert.ErrorIs(t, err, capability.ErrDuplicate)
	assert.Contains(t, err.Error(), `"file"`)

	assert.ErrorIs(t, c.Define(nil), capability.ErrInvalid)
	assert.ErrorIs(t, c.Define(&capability.Schema{}), capability.ErrInvalid)
}

func TestCatalogZeroValue(t *testing.T) {
	var c capability.Catalog
	assert.Empty(t, c.Domains())
	require.NoError(t, c.Define(fileSchema(t)))
	assert.Equal(t, []string{"file"}, c.Domains())
}

func TestCatalogRequire(t *testing.T) {
	c := testCatalog(t)
	reqs, err := c.Require(capability.MustParse("file:read:/docs/a"), capability.MustParse("user:basic"))
	require.NoError(t, err)
	assert.Equal(t, []capability.Capability{
		capability.MustParse("file:read:/docs/a"),
		capability.MustParse("user:basic"),
	}, reqs.Capabilities())
	assert.Equal(t, "file:read:/docs/a", reqs[0].Capability().String())

	// Hand-built capabilities are validated and cleaned.
	reqs, err = c.Require(capability.Capability{Domain: "file", Op: "read", Resource: "/docs/../etc/passwd"})
	require.NoError(t, err)
	assert.Equal(t, "file:read:/etc/passwd", reqs[0].Capability().String())

	reqs, err = c.Require()
	require.NoError(t, err)
	assert.Empty(t, reqs)

	tests := []struct {
		c    capability.Capability
		want error
	}{
		{capability.MustParse("net:connect"), capability.ErrUnknownDomain},
		{capability.MustParse("file:fly"), capability.ErrUnknownOperation},
		{capability.Capability{}, capability.ErrInvalid},
		{capability.Capability{Domain: "file", Op: "read", Resource: "/docs/*/x"}, capability.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := c.Require(capability.MustParse("user:basic"), tt.c)
		assert.ErrorIs(t, err, tt.want, "%#v", tt.c)
	}
}

func TestCatalogConcurrentUse(t *testing.T) {
	c := testCatalog(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := capability.NewSchema(fmt.Sprintf("d%d", i), []string{"op"})
			assert.NoError(t, err)
			assert.NoError(t, c.Define(s))
			for range 100 {
				_, err := c.Require(capability.MustParse("file:read:/x"))
				assert.NoError(t, err)
				c.Domains()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, c.Domains(), 10)
}
