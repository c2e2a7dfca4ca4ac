package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// smoke checks the running panel at base the way a browser without
// JavaScript uses it: sign in through the form, read the pages, press the
// buttons. It prints what it checked.
func smoke(ctx context.Context, base string, out io.Writer) error {
	alice, err := signIn(ctx, base, "alice")
	if err != nil {
		return err
	}
	defer alice.CloseIdleConnections()
	page, err := alice.get(ctx, "/counters")
	if err != nil {
		return err
	}
	if strings.Contains(page, "Admin Panel") || !strings.Contains(page, "reset needs user:admin") || !strings.Contains(page, ">+1</button>") {
		return fmt.Errorf("alice's counters page shows the wrong pieces:\n%s", page)
	}
	if err := alice.press(ctx, page, "/counters/c1/increment"); err != nil {
		return err
	}
	// A reset is not offered to alice; sent anyway, it is refused.
	if status, err := alice.post(ctx, "/counters/c1/reset", url.Values{"csrf": {csrf(page)}}); err != nil || status != http.StatusForbidden {
		return fmt.Errorf("alice's reset: status %d, %v; want 403", status, err)
	}
	fmt.Fprintln(out, "alice: counts and +1, no Admin Panel, reset refused (403)")

	admin, err := signIn(ctx, base, "admin")
	if err != nil {
		return err
	}
	defer admin.CloseIdleConnections()
	page, err = admin.get(ctx, "/counters")
	if err != nil {
		return err
	}
	if !strings.Contains(page, "Admin Panel") || !regexp.MustCompile(`data-id="c1">\s*<td>c1</td>\s*<td class="num">1</td>`).MatchString(page) {
		return fmt.Errorf("admin's counters page lacks the Admin Panel or c1 = 1:\n%s", page)
	}
	if err := admin.press(ctx, page, "/counters/reset-all"); err != nil {
		return err
	}
	dash, err := admin.get(ctx, "/")
	if err != nil {
		return err
	}
	if !strings.Contains(dash, `id="chaos-form"`) || !strings.Contains(dash, `data-live-members="1"`) {
		return fmt.Errorf("admin's dashboard lacks the fault injection form or the member:\n%s", dash)
	}
	fmt.Fprintln(out, "admin: Admin Panel, reset all, dashboard with fault injection")
	return nil
}

// client is a browser without JavaScript: a cookie jar.
type client struct {
	*http.Client
	base string
}

func signIn(ctx context.Context, base, token string) (*client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &client{Client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: base}
	status, err := c.post(ctx, "/login", url.Values{"token": {token}, "next": {"/counters"}})
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("signing in as %s: status %d, %v", token, status, err)
	}
	return c, nil
}

func (c *client) get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return "", err
	}
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s\n%s", path, res.Status, body)
	}
	return string(body), nil
}

// post posts form as a same-origin form would and returns the status
// after redirects.
func (c *client) post(ctx context.Context, path string, form url.Values) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, nil
}

// press submits the form of page whose action is action.
func (c *client) press(ctx context.Context, page, action string) error {
	if !strings.Contains(page, `action="`+action+`"`) {
		return fmt.Errorf("the page has no form for %s", action)
	}
	status, err := c.post(ctx, action, url.Values{"csrf": {csrf(page)}})
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("POST %s: status %d, %v", action, status, err)
	}
	return nil
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(page string) string {
	if m := csrfRE.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}
