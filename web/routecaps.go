package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/packetflow/packetflow/capability"
)

// requirementTemplate is one of a route's required capabilities, whose
// resource may name path values: "file:read:/{path}".
type requirementTemplate struct {
	text   string
	fixed  *capability.Capability // when the resource names no path value
	domain string
	op     string
	parts  []templatePart // the resource, literal text and path values
}

// templatePart is literal text, or a path value when wildcard is set.
type templatePart struct {
	text     string
	wildcard bool
}

// wildcardRE matches a ServeMux wildcard, "{name}" or "{name...}", and a
// placeholder in a requirement.
var wildcardRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// compileRequirement checks s against the catalog and the route's pattern:
// the domain and operation must be literal and known, and every "{name}"
// of the resource must be a wildcard of the pattern.
func compileRequirement(cat *capability.Catalog, pattern, s string) (requirementTemplate, error) {
	t := requirementTemplate{text: s}
	domain, rest, ok := strings.Cut(s, ":")
	if !ok {
		_, err := capability.Parse(s) // names the problem
		return t, err
	}
	op, resource, _ := strings.Cut(rest, ":")
	t.domain, t.op = domain, op
	if strings.ContainsAny(domain+op, "{}") {
		return t, fmt.Errorf("requirement %q: only the resource may name path values", s)
	}
	wildcards := map[string]bool{}
	for _, m := range wildcardRE.FindAllStringSubmatch(pattern, -1) {
		wildcards[m[1]] = true
	}
	last := 0
	for _, loc := range wildcardRE.FindAllStringSubmatchIndex(resource, -1) {
		name := resource[loc[2]:loc[3]]
		if loc[4] >= 0 {
			return t, fmt.Errorf("requirement %q: write {%s}, not {%s...}, in a requirement", s, name, name)
		}
		if !wildcards[name] {
			return t, fmt.Errorf("requirement %q: the pattern has no wildcard {%s}", s, name)
		}
		if loc[0] > last {
			t.parts = append(t.parts, templatePart{text: resource[last:loc[0]]})
		}
		t.parts = append(t.parts, templatePart{text: name, wildcard: true})
		last = loc[1]
	}
	if last < len(resource) {
		t.parts = append(t.parts, templatePart{text: resource[last:]})
	}
	// With every path value standing in as "x", the requirement must
	// parse and compile.
	sample := t.resource(func(string) string { return "x" })
	c, err := capability.New(domain, op, sample)
	if err != nil {
		return t, err
	}
	if strings.ContainsAny(sample, "{}") {
		return t, fmt.Errorf("requirement %q: a brace that is not a {name} placeholder", s)
	}
	if _, err := cat.Require(c); err != nil {
		return t, fmt.Errorf("requirement %q: %w", s, err)
	}
	if !t.hasWildcard() {
		t.fixed = &c
	}
	return t, nil
}

func (t requirementTemplate) hasWildcard() bool {
	for _, p := range t.parts {
		if p.wildcard {
			return true
		}
	}
	return false
}

// resource assembles the resource with value giving each path value.
func (t requirementTemplate) resource(value func(name string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.wildcard {
			b.WriteString(value(p.text))
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// expand returns the capability r requires. A path value containing "*",
// or one that makes the resource invalid, empty or not canonical, is a 400:
// the capability checked must name exactly what the handler will serve.
func (t requirementTemplate) expand(r *http.Request) (capability.Capability, *apiError) {
	if t.fixed != nil {
		return *t.fixed, nil
	}
	var bad string
	res := t.resource(func(name string) string {
		v := r.PathValue(name)
		if strings.Contains(v, "*") && bad == "" {
			bad = name
		}
		return v
	})
	if bad != "" {
		return capability.Capability{}, invalid("path value {%s} %q: \"*\" is not allowed", bad, truncate(r.PathValue(bad), maxEcho))
	}
	c, err := capability.New(t.domain, t.op, res)
	switch {
	case err != nil:
		return c, invalid("path %q does not name a valid resource: %s", truncate(r.URL.Path, maxEcho), truncate(err.Error(), 2*maxEcho))
	case res == "":
		return c, invalid("path %q names an empty resource", truncate(r.URL.Path, maxEcho))
	case c.Resource != res:
		return c, invalid("path %q is not canonical: its resource %q cleans to %q", truncate(r.URL.Path, maxEcho), truncate(res, maxEcho), truncate(c.Resource, maxEcho))
	}
	return c, nil
}
