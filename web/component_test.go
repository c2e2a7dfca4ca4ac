package web_test

import (
	"bytes"
	"html/template"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/web"
)

func TestComponentsRenderByCapability(t *testing.T) {
	node := newNode(t) // user: admin ⇒ basic; file: admin ⇒ delete ⇒ write ⇒ read
	cs, err := web.NewComponents(node.rt.Catalog(),
		web.Component{Name: "panel", Requires: []string{"user:admin"},
			Template: `<div class="admin-panel">Admin Panel for {{.}}</div>`,
			Fallback: `<p>Ask an admin, {{.}}.</p>`},
		web.Component{Name: "reset", Requires: []string{"user:admin"}, Template: `<button>Reset</button>`},
		web.Component{Name: "docs", Requires: []string{"file:read:/docs/guide.md"}, Template: `<a href="/files/docs/guide.md">guide</a>`},
		web.Component{Name: "greeting", Template: `<p>Hello {{.}}</p>`},
	)
	require.NoError(t, err)
	ctx := func(grants ...string) *intent.Context {
		c, err := node.rt.NewContext("someone", grants...)
		require.NoError(t, err)
		return c
	}
	admin, basic, writer := ctx("user:admin"), ctx("user:basic"), ctx("file:write:/docs/*")

	tests := []struct {
		name    string
		viewer  *intent.Context
		comp    string
		data    any
		want    template.HTML
		because string
	}{
		{"holder sees it", admin, "panel", "ann", `<div class="admin-panel">Admin Panel for ann</div>`, ""},
		{"lacking it shows the fallback", basic, "panel", "bob", `<p>Ask an admin, bob.</p>`, "basic does not imply admin"},
		{"nobody signed in shows the fallback", nil, "panel", "you", `<p>Ask an admin, you.</p>`, ""},
		{"no fallback omits it", basic, "reset", nil, ``, ""},
		{"holder of the omitted one", admin, "reset", nil, `<button>Reset</button>`, ""},
		{"implication and resource pattern", writer, "docs", nil, `<a href="/files/docs/guide.md">guide</a>`, "write ⇒ read, /docs/* covers the file"},
		{"other grants do not reach files", admin, "docs", nil, ``, ""},
		{"no requirement: everyone", nil, "greeting", "<script>x</script>", `<p>Hello &lt;script&gt;x&lt;/script&gt;</p>`, "escaped by default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cs.Render(tc.viewer, tc.comp, tc.data)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, tc.because)
		})
	}
	_, err = cs.Render(admin, "nope", nil)
	require.ErrorContains(t, err, `no component "nope"`)
	require.True(t, cs.Holds(writer, "file:read:/docs/a"))
	require.False(t, cs.Holds(writer, "file:read:/etc/passwd"))
	require.False(t, cs.Holds(admin, "no such capability"))
}

func TestComponentsInAPage(t *testing.T) {
	node := newNode(t)
	cs, err := web.NewComponents(node.rt.Catalog(),
		web.Component{Name: "reset", Requires: []string{"user:admin"}, Template: `<button>Reset {{.}}</button>`},
		web.Component{Name: "row", Template: `<li>{{.}} {{component "reset" .}}</li>`})
	require.NoError(t, err)
	page := template.Must(template.New("page").Funcs(cs.Funcs()).Parse(`<ul>{{range .}}{{component "row" .}}{{end}}</ul>`))
	admin, err := node.rt.NewContext("admin", "user:admin")
	require.NoError(t, err)
	alice, err := node.rt.NewContext("alice", "user:basic")
	require.NoError(t, err)

	var b bytes.Buffer
	require.NoError(t, cs.Execute(&b, page, admin, []string{"c1", "c2"}))
	require.Equal(t, `<ul><li>c1 <button>Reset c1</button></li><li>c2 <button>Reset c2</button></li></ul>`, b.String())
	b.Reset()
	require.NoError(t, cs.Execute(&b, page, alice, []string{"c1"}), "the page can be run again, for another viewer")
	require.Equal(t, `<ul><li>c1 </li></ul>`, b.String())
	require.Error(t, page.Execute(&b, []string{"c1"}), "a page with components runs only through Execute")
}

func TestComponentDeclarationErrors(t *testing.T) {
	node := newNode(t)
	for name, c := range map[string][]web.Component{
		"a component needs a name":     {{Template: "x"}},
		`component "a" declared twice`: {{Name: "a"}, {Name: "a"}},
		"unknown domain":               {{Name: "a", Requires: []string{"nosuch:read"}}},
		"invalid":                      {{Name: "a", Requires: []string{"User:Admin"}}},
		`component "a"`:                {{Name: "a", Template: "{{.Broken"}},
		`component "a" fallback`:       {{Name: "a", Fallback: "{{end}}"}},
	} {
		_, err := web.NewComponents(node.rt.Catalog(), c...)
		require.ErrorContains(t, err, name)
	}
	_, err := web.NewComponents(nil)
	require.Error(t, err)
}
