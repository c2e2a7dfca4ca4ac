package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

// assets are the pages' templates, style sheet and script.
//
//go:embed assets
var assets embed.FS

// pageSecurityHeaders are set on every page: no inline script or style,
// nothing loaded from elsewhere, no framing, forms post only here.
var pageSecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":        "DENY",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"Cache-Control":          "no-store",
}

// WritePage writes body as an HTML page with status and the security
// headers of the node's own pages (a Content-Security-Policy that allows
// scripts and styles from this origin only, no framing, no caching).
func WritePage(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	for k, v := range pageSecurityHeaders {
		h.Set(k, v)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// pageData is what the layout renders around a page's content.
type pageData struct {
	Title   string
	Node    string
	Viewer  string // the signed-in principal; "" for nobody
	CSRF    string
	Content any
}

// errorPage is the content of an error page.
type errorPage struct {
	Status  int
	Title   string
	Code    string
	Message string
	Missing []string
	SignIn  bool   // offer the login form
	Next    string // where to go after signing in
}

// pageRenderer renders the node's pages: each is the layout around one
// content template, and may use the handler's components.
type pageRenderer struct {
	node  string
	comps *Components
	log   *slog.Logger
	pages map[string]*template.Template // by content template name
}

func newPageRenderer(node string, comps *Components, funcs template.FuncMap, log *slog.Logger) (*pageRenderer, error) {
	p := &pageRenderer{node: node, comps: comps, log: log, pages: map[string]*template.Template{}}
	all := template.FuncMap{}
	for k, v := range comps.Funcs() {
		all[k] = v
	}
	for k, v := range funcs {
		all[k] = v
	}
	for _, name := range []string{"error", "login", "dashboard"} {
		t, err := template.New("layout.html").Funcs(all).ParseFS(assets, "assets/layout.html", "assets/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

// render writes the page name with content for r's caller.
func (p *pageRenderer) render(w http.ResponseWriter, r *http.Request, status int, name, title string, content any) {
	caller := Caller(r)
	data := pageData{Title: title, Node: p.node, CSRF: CSRFToken(r), Content: content}
	if caller != nil {
		data.Viewer = caller.Principal
	}
	var b bytes.Buffer
	if err := p.comps.Execute(&b, p.pages[name], caller, data); err != nil {
		p.log.Error("web: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page; the node's log has the details", http.StatusInternalServerError)
		return
	}
	WritePage(w, status, b.Bytes())
}

// error writes e as a readable page; a 401 offers the login form.
func (p *pageRenderer) error(w http.ResponseWriter, r *http.Request, e *apiError) {
	content := errorPage{Status: e.status, Title: http.StatusText(e.status), Code: e.Code, Message: e.Message, Missing: e.Missing}
	if e.status == http.StatusUnauthorized {
		content.SignIn = true
		content.Next = safeNext(r.URL.RequestURI())
		if r.Method != http.MethodGet {
			content.Next = "/"
		}
	}
	p.render(w, r, e.status, "error", content.Title, content)
}

// safeNext returns next when it is a path on this site, else "/": a
// sign-in never redirects elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}

// assetTypes are the content types of the files under assets/ served at
// /assets/; templates are not served.
var assetTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

// serveAsset serves GET /assets/{file}.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	typ, ok := assetTypes[path.Ext(name)]
	if !ok || strings.Contains(name, "/") {
		writeError(w, newError(http.StatusNotFound, codeNotFound, "no asset "+truncate(name, maxEcho)))
		return
	}
	body, err := assets.ReadFile("assets/" + name)
	if err != nil {
		writeError(w, newError(http.StatusNotFound, codeNotFound, "no asset "+truncate(name, maxEcho)))
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(body)
}
