package web_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/web"
)

// writeFile writes content to a file in a fresh directory and returns its
// path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "grants.json")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestLoadPrincipals(t *testing.T) {
	path := writeFile(t, `{"principals": [
		{"name": "alice", "token": "s3cr3t-alice", "capabilities": ["user:basic"]},
		{"name": "ops", "token": "s3cr3t-ops", "capabilities": ["user:admin", "file:read:/docs/*"]},
		{"name": "nobody", "token": "s3cr3t-nobody", "capabilities": []}
	]}`)
	ps, err := web.LoadPrincipals(path)
	require.NoError(t, err)
	require.Equal(t, 3, ps.Len())
	require.Equal(t, []string{"alice", "ops", "nobody"}, ps.Names())

	p, ok := ps.Lookup("s3cr3t-ops")
	require.True(t, ok)
	require.Equal(t, web.Principal{Name: "ops", Token: "s3cr3t-ops", Capabilities: []string{"user:admin", "file:read:/docs/*"}}, p)
	p.Capabilities[0] = "user:basic" // a copy: the table does not change
	p, _ = ps.Lookup("s3cr3t-ops")
	require.Equal(t, "user:admin", p.Capabilities[0])

	for _, bad := range []string{"", "s3cr3t", "s3cr3t-alicex", "S3CR3T-ALICE", "alice"} {
		_, ok := ps.Lookup(bad)
		require.False(t, ok, "%q", bad)
	}

	empty, err := web.LoadPrincipals(writeFile(t, `{"principals": []}`))
	require.NoError(t, err)
	require.Equal(t, 0, empty.Len())
	_, ok = empty.Lookup("s3cr3t-alice")
	require.False(t, ok)
}

func TestLoadPrincipalsErrors(t *testing.T) {
	entry := func(name, token string, caps ...string) string {
		q := make([]string, len(caps))
		for i, c := range caps {
			q[i] = quote(c)
		}
		return fmt.Sprintf(`{"name":%s,"token":%s,"capabilities":[%s]}`, quote(name), quote(token), strings.Join(q, ","))
	}
	file := func(entries ...string) string { return `{"principals":[` + strings.Join(entries, ",") + `]}` }

	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error, besides the file's path
	}{
		{"empty file", ``, []string{"empty JSON document"}},
		{"not JSON", `principals: alice`, []string{"invalid character"}},
		{"truncated", `{"principals":[`, []string{"unexpected EOF"}},
		{"trailing data", file(entry("alice", "a", "user:basic")) + `{}`, []string{"data after"}},
		{"no principals list", `{}`, []string{`no "principals" list`}},
		{"null principals list", `{"principals": null}`, []string{`no "principals" list`}},
		{"unknown top-level field", `{"principals":[],"admins":[]}`, []string{`unknown field "admins"`}},
		{"unknown principal field", `{"principals":[{"name":"a","token":"a","capabilities":[],"role":"admin"}]}`, []string{`unknown field "role"`}},
		{"wrong type", `{"principals":{"name":"a"}}`, []string{"cannot unmarshal"}},
		{"empty name", file(entry("", "t", "user:basic")), []string{"principal 0", "empty name"}},
		{"empty token", file(entry("alice", "a"), entry("bob", "")), []string{`principal 1 ("bob")`, "empty token"}},
		{"missing token", `{"principals":[{"name":"bob","capabilities":[]}]}`, []string{`principal 0 ("bob")`, "empty token"}},
		{"token with a space", file(entry("bob", "two words")), []string{`principal 0 ("bob")`, "token has characters"}},
		{"token too long", file(entry("bob", strings.Repeat("t", web.MaxTokenBytes+1))), []string{`principal 0 ("bob")`, "token is"}},
		{"name with a control character", file(entry("bo\nb", "t")), []string{"principal 0", "not printable"}},
		{"name too long", file(entry(strings.Repeat("n", 200), "t")), []string{"principal 0", "name is 200 bytes"}},
		{"invalid capability", file(entry("alice", "a", "user:basic"), entry("bob", "b", "user:basic", "user")), []string{`principal 1 ("bob")`, "capability 1"}},
		{"invalid capability resource", file(entry("bob", "b", "file:read:")), []string{`principal 0 ("bob")`, "capability 0"}},
		{"invalid capability operation", file(entry("bob", "b", "user:ba sic")), []string{`principal 0 ("bob")`, "capability 0", "offset"}},
		{"duplicate name", file(entry("alice", "a"), entry("alice", "b")), []string{`principal "alice"`, "the same name"}},
		{"duplicate token", file(entry("alice", "same"), entry("bob", "same")), []string{`"alice"`, `"bob"`, "the same token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content)
			ps, err := web.LoadPrincipals(path)
			require.Error(t, err)
			require.Nil(t, ps)
			require.Contains(t, err.Error(), path, "the error names the file")
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), "same\"", "errors never show tokens")
		})
	}

	_, err := web.LoadPrincipals(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, err, "missing.json")
}

func TestDevPrincipals(t *testing.T) {
	ps := web.DevPrincipals()
	require.Equal(t, []string{"alice", "admin"}, ps.Names())
	alice, ok := ps.Lookup("alice")
	require.True(t, ok)
	require.Equal(t, []string{"user:basic"}, alice.Capabilities)
	admin, ok := ps.Lookup("admin")
	require.True(t, ok)
	require.Equal(t, []string{"user:admin"}, admin.Capabilities)
}

func TestMergePrincipals(t *testing.T) {
	file, err := web.LoadPrincipals(writeFile(t, `{"principals":[{"name":"ops","token":"ops-token","capabilities":["user:admin"]}]}`))
	require.NoError(t, err)
	merged, err := web.MergePrincipals(web.DevPrincipals(), nil, file)
	require.NoError(t, err)
	require.Equal(t, []string{"alice", "admin", "ops"}, merged.Names())
	_, ok := merged.Lookup("ops-token")
	require.True(t, ok)

	path := writeFile(t, `{"principals":[{"name":"alice","token":"other","capabilities":["user:admin"]}]}`)
	clash, err := web.LoadPrincipals(path)
	require.NoError(t, err)
	_, err = web.MergePrincipals(web.DevPrincipals(), clash)
	require.ErrorContains(t, err, "the dev principals")
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "the same name")

	sameToken, err := web.NewPrincipals(web.Principal{Name: "eve", Token: "admin"})
	require.NoError(t, err)
	_, err = web.MergePrincipals(web.DevPrincipals(), sameToken)
	require.ErrorContains(t, err, "the same token")

	var none *web.Principals
	require.Equal(t, 0, none.Len())
	_, ok = none.Lookup("alice")
	require.False(t, ok)
}

func TestPrincipalNeverPrintsItsToken(t *testing.T) {
	p := web.Principal{Name: "alice", Token: "hunter2", Capabilities: []string{"user:basic"}}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("who", "principal", p)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %s", p, p, p), logs.String()} {
		require.NotContains(t, s, "hunter2")
		require.Contains(t, s, "alice")
	}
}
