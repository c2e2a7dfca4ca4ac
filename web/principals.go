package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
)

// Principal is a caller the HTTP API knows: the bearer token that
// authenticates it and the capabilities every intent it sends carries.
// Its String and LogValue leave the token out.
type Principal struct {
	// Name is who the intents run as (intent.Context.Principal): valid
	// UTF-8 without control characters, at most intent.MaxIDBytes bytes.
	Name string `json:"name"`
	// Token is the secret a caller presents as "Authorization: Bearer
	// <token>": printable ASCII without spaces, at most MaxTokenBytes.
	Token string `json:"token"`
	// Capabilities are the principal's grants in text form ("user:basic",
	// "file:read:/docs/*").
	Capabilities []string `json:"capabilities"`
}

// String returns the principal's name.
func (p Principal) String() string { return p.Name }

// LogValue logs the name and capabilities, never the token.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.Name), slog.Any("capabilities", p.Capabilities))
}

// MaxTokenBytes bounds a principal's token.
const MaxTokenBytes = 1024

// maxGrantsFileBytes bounds a grants file, so a wrong path (a device, a
// huge log) fails instead of filling memory.
const maxGrantsFileBytes = 4 << 20

// Principals is an immutable table of principals, looked up by token. The
// nil *Principals is an empty table: no token is valid.
type Principals struct {
	// source names where the principals came from, for errors: a grants
	// file's path, "the dev principals" or "the principals".
	source []string    // source[i] is where list[i] came from
	list   []Principal // in definition order
	digest [][sha256.Size]byte
}

// NewPrincipals validates ps and returns them as a table. Empty names or
// tokens, names or tokens used twice and invalid capability strings are
// errors naming the principal.
func NewPrincipals(ps ...Principal) (*Principals, error) {
	return newPrincipals("principals", ps)
}

func newPrincipals(source string, ps []Principal) (*Principals, error) {
	t := &Principals{}
	for i, p := range ps {
		if err := validPrincipal(p); err != nil {
			return nil, fmt.Errorf("web: %s: principal %d%s: %w", source, i, quoteName(p.Name), err)
		}
		p.Capabilities = slices.Clone(p.Capabilities)
		if err := t.add(source, p); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// quoteName returns ` ("name")` for error messages, or "" for an empty
// name, bounded so that a hostile file cannot flood a log.
func quoteName(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", truncate(name, 64))
}

func validPrincipal(p Principal) error {
	switch {
	case p.Name == "":
		return errors.New("empty name")
	case len(p.Name) > intent.MaxIDBytes:
		return fmt.Errorf("name is %d bytes, limit %d", len(p.Name), intent.MaxIDBytes)
	case !utf8.ValidString(p.Name) || hasControl(p.Name):
		return errors.New("name is not printable UTF-8")
	case p.Token == "":
		return errors.New("empty token")
	case len(p.Token) > MaxTokenBytes:
		return fmt.Errorf("token is %d bytes, limit %d", len(p.Token), MaxTokenBytes)
	case !validToken(p.Token):
		return errors.New("token has characters other than printable ASCII without spaces")
	case len(p.Capabilities) > intent.MaxGrants:
		return fmt.Errorf("%d capabilities, limit %d", len(p.Capabilities), intent.MaxGrants)
	}
	for j, s := range p.Capabilities {
		if _, err := capability.Parse(s); err != nil {
			return fmt.Errorf("capability %d: %w", j, err)
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// validToken reports whether tok can travel in an Authorization header as
// one word: visible ASCII only.
func validToken(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}

// add appends p, refusing a name or token already in t.
func (t *Principals) add(source string, p Principal) error {
	d := sha256.Sum256([]byte(p.Token))
	for i, q := range t.list {
		what := ""
		switch {
		case q.Name == p.Name:
			what = "the same name"
		case t.digest[i] == d:
			what = "the same token"
		default:
			continue
		}
		return fmt.Errorf("web: principal %q of %s and principal %q of %s have %s",
			truncate(q.Name, 64), t.source[i], truncate(p.Name, 64), source, what)
	}
	t.source = append(t.source, source)
	t.list = append(t.list, p)
	t.digest = append(t.digest, d)
	return nil
}

// DevPrincipals returns the development principals: alice (token "alice",
// user:basic) and admin (token "admin", user:admin). Their tokens are
// public: use them only on a node nobody else can reach.
func DevPrincipals() *Principals {
	t, err := newPrincipals("the dev principals", []Principal{
		{Name: "alice", Token: "alice", Capabilities: []string{"user:basic"}},
		{Name: "admin", Token: "admin", Capabilities: []string{"user:admin"}},
	})
	if err != nil {
		panic(err) // constant input
	}
	return t
}

// grantsFile is the JSON form of a grants file.
type grantsFile struct {
	Principals *[]Principal `json:"principals"`
}

// LoadPrincipals reads a grants file:
//
//	{"principals": [{"name": "alice", "token": "…", "capabilities": ["user:basic"]}]}
//
// The file is read strictly: unknown fields, trailing data, a missing
// "principals" list and every error NewPrincipals reports are errors naming
// the file and the principal. An empty list is allowed (no token is valid).
func LoadPrincipals(path string) (*Principals, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("web: grants file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxGrantsFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("web: grants file %s: %w", path, err)
	}
	if len(data) > maxGrantsFileBytes {
		return nil, fmt.Errorf("web: grants file %s: larger than %d bytes", path, maxGrantsFileBytes)
	}
	var gf grantsFile
	if err := decodeStrict(data, &gf); err != nil {
		return nil, fmt.Errorf("web: grants file %s: %w", path, err)
	}
	if gf.Principals == nil {
		return nil, fmt.Errorf(`web: grants file %s: no "principals" list`, path)
	}
	return newPrincipals("grants file "+path, *gf.Principals)
}

// decodeStrict decodes one JSON value into v, refusing unknown fields,
// empty input and anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty JSON document")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// MergePrincipals returns one table holding the principals of every set,
// for example the dev principals and a grants file's. A name or token that
// two sets both use is an error naming both sources: a merge never decides
// which grants win. Nil sets are skipped.
func MergePrincipals(sets ...*Principals) (*Principals, error) {
	t := &Principals{}
	for _, s := range sets {
		if s == nil {
			continue
		}
		for i, p := range s.list {
			if err := t.add(s.source[i], p); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// Lookup returns the principal whose token is token. It compares SHA-256
// digests of the tokens in constant time and looks at every principal, so
// its timing says nothing about how much of a token was right.
func (t *Principals) Lookup(token string) (Principal, bool) {
	p := t.lookup(token)
	if p == nil {
		return Principal{}, false
	}
	c := *p
	c.Capabilities = slices.Clone(p.Capabilities)
	return c, true
}

// lookup is Lookup without the copy: the result must not be changed.
func (t *Principals) lookup(token string) *Principal {
	if t == nil || token == "" || len(token) > MaxTokenBytes {
		return nil
	}
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.digest {
		if subtle.ConstantTimeCompare(d[:], t.digest[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil
	}
	return &t.list[found]
}

// byName returns the principal named name, or nil. The result must not be
// changed.
func (t *Principals) byName(name string) *Principal {
	if t == nil {
		return nil
	}
	for i := range t.list {
		if t.list[i].Name == name {
			return &t.list[i]
		}
	}
	return nil
}

// Len is the number of principals.
func (t *Principals) Len() int {
	if t == nil {
		return 0
	}
	return len(t.list)
}

// Names lists the principals' names in definition order.
func (t *Principals) Names() []string {
	if t == nil {
		return nil
	}
	names := make([]string, len(t.list))
	for i, p := range t.list {
		names[i] = p.Name
	}
	return names
}

// truncate bounds s (an input echoed in an error message) to n bytes,
// marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
