package web_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/web"
)

// browser is a signed-in browser: its session cookie and the CSRF token
// its pages carry.
type browser struct {
	cookie *http.Cookie
	csrf   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn posts token to the login form as a browser would (same-origin)
// and returns the browser, failing unless it is let in.
func signIn(t testing.TB, h http.Handler, token string) browser {
	t.Helper()
	res := postForm(t, h, "/login", url.Values{"token": {token}, "next": {"/"}}, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/", res.header.Get("Location"))
	cookies := (&http.Response{Header: res.header}).Cookies()
	require.Len(t, cookies, 1)
	b := browser{cookie: cookies[0]}
	page := b.get(t, h, "/")
	require.Equal(t, 200, page.status, page.body)
	m := csrfRE.FindStringSubmatch(page.body)
	require.NotNil(t, m, "the signed-in page carries a CSRF token")
	b.csrf = m[1]
	return b
}

func (b browser) get(t testing.TB, h http.Handler, path string) pageResponse {
	t.Helper()
	return get(t, h, http.MethodGet, path, "Cookie", b.cookie.Name+"="+b.cookie.Value, "Accept", "text/html")
}

// post posts form as the browser, with its cookie and the given headers.
func (b browser) post(t testing.TB, h http.Handler, path string, form url.Values, headers ...string) pageResponse {
	t.Helper()
	return postForm(t, h, path, form, append([]string{"Cookie", b.cookie.Name + "=" + b.cookie.Value}, headers...)...)
}

func postForm(t testing.TB, h http.Handler, path string, form url.Values, headers ...string) pageResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return pageResponse{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func TestLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	h := newHandler(t, newNode(t))
	b := signIn(t, h, "alice")
	c := b.cookie
	require.Equal(t, web.SessionCookie, c.Name)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.False(t, c.Secure, "plain HTTP: a Secure cookie would never come back")
	require.Equal(t, int(web.DefaultSessionTTL/time.Second), c.MaxAge)
	require.NotContains(t, c.Value, "alice", "the cookie is a random secret, not the token")
	require.GreaterOrEqual(t, len(c.Value), 43)

	// Over TLS the cookie is Secure.
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("token=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.True(t, rec.Result().Cookies()[0].Secure)
}

func TestLoginRefusals(t *testing.T) {
	h := newHandler(t, newNode(t))
	res := postForm(t, h, "/login", url.Values{"token": {"mallory"}})
	requireErrorPage(t, res, 401, "unauthenticated")
	require.Empty(t, res.header.Values("Set-Cookie"))
	require.NotContains(t, res.body, "mallory", "the page never repeats a token")

	res = postForm(t, h, "/login", url.Values{"token": {"alice"}}, "Sec-Fetch-Site", "cross-site")
	requireErrorPage(t, res, 403, "forbidden")
	require.Empty(t, res.header.Values("Set-Cookie"), "no sign-in from another site's form")
	res = postForm(t, h, "/login", url.Values{"token": {"alice"}}, "Origin", "https://evil.example")
	requireErrorPage(t, res, 403, "forbidden")

	res = postForm(t, h, "/login", url.Values{"token": {strings.Repeat("x", 10<<10)}})
	requireErrorPage(t, res, 400, "invalid_argument")
}

func TestLoginNeverRedirectsElsewhere(t *testing.T) {
	h := newHandler(t, newNode(t))
	for next, want := range map[string]string{
		"/v1/stats":             "/v1/stats",
		"//evil.example/x":      "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
		"":                      "/",
	} {
		res := postForm(t, h, "/login", url.Values{"token": {"alice"}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.status)
		require.Equal(t, want, res.header.Get("Location"), "next %q", next)
	}
}

func TestLoginPage(t *testing.T) {
	h := newHandler(t, newNode(t))
	res := get(t, h, http.MethodGet, "/login?next=/x")
	require.Equal(t, 200, res.status)
	require.Contains(t, res.body, `name="next" value="/x"`)
	b := signIn(t, h, "alice")
	res = b.get(t, h, "/login?next=/v1/stats")
	require.Equal(t, http.StatusSeeOther, res.status, "signed in already")
	require.Equal(t, "/v1/stats", res.header.Get("Location"))
}

func TestSessionCookieAuthenticatesPagesOnly(t *testing.T) {
	ps, err := web.NewPrincipals(web.Principal{Name: "operator", Token: "operator-token", Capabilities: []string{"chaos:inject"}})
	require.NoError(t, err)
	h := newHandler(t, newNode(t), func(c *web.Config) { c.Principals = ps })
	b := signIn(t, h, "operator-token")
	res := get(t, h, http.MethodGet, "/v1/chaos", "Cookie", b.cookie.Name+"="+b.cookie.Value)
	require.Equal(t, 401, res.status, "the API takes bearer tokens only: a cookie cannot be ridden by another site's script")
	require.Contains(t, res.body, `"code":"unauthenticated"`)
}

func TestLogoutEndsTheSession(t *testing.T) {
	h := newHandler(t, newNode(t))
	b := signIn(t, h, "alice")
	res := b.post(t, h, "/logout", url.Values{})
	requireErrorPage(t, res, 403, "forbidden")
	require.Equal(t, 200, b.get(t, h, "/").status, "a refused logout changes nothing")

	res = b.post(t, h, "/logout", url.Values{"csrf": {b.csrf}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/login", res.header.Get("Location"))
	cleared := (&http.Response{Header: res.header}).Cookies()
	require.Len(t, cleared, 1)
	require.Equal(t, -1, cleared[0].MaxAge)
	res = b.get(t, h, "/")
	requireErrorPage(t, res, 401, "unauthenticated")
	require.Contains(t, res.body, "your session has ended")
}

func TestSessionsExpireAndAreBounded(t *testing.T) {
	h := newHandler(t, newNode(t), func(c *web.Config) { c.SessionTTL = 50 * time.Millisecond })
	b := signIn(t, h, "alice")
	time.Sleep(60 * time.Millisecond)
	requireErrorPage(t, b.get(t, h, "/"), 401, "unauthenticated")

	h = newHandler(t, newNode(t), func(c *web.Config) { c.MaxSessions = 2 })
	first := signIn(t, h, "alice")
	signIn(t, h, "admin")
	signIn(t, h, "wendy-token")
	requireErrorPage(t, first.get(t, h, "/"), 401, "unauthenticated")

	_, err := web.NewHandler(newNode(t), web.Config{MaxSessions: -1})
	require.ErrorContains(t, err, "negative MaxSessions")
	_, err = web.NewHandler(newNode(t), web.Config{SessionTTL: -time.Second})
	require.ErrorContains(t, err, "negative SessionTTL")
}

func TestForgedCookieIsUnauthenticated(t *testing.T) {
	h := newHandler(t, newNode(t))
	for _, v := range []string{"x", strings.Repeat("A", 43), strings.Repeat("z", 5000)} {
		res := get(t, h, http.MethodGet, "/", "Cookie", web.SessionCookie+"="+v)
		requireErrorPage(t, res, 401, "unauthenticated")
	}
}
