package config

import (
	"fmt"
	"strings"
)

// Templates ("${ENV:NAME}", "${ENV:NAME:-fallback}", "$${") are described
// in the package documentation.

// expandChanges returns changes with every template expanded. Keys and
// values that hold no template are passed through.
func expandChanges(changes map[string]any, lookup func(string) (string, bool)) (map[string]any, error) {
	out := make(map[string]any, len(changes))
	var errs []error
	for _, k := range sortedKeys(changes) {
		v, err := expandValue(k, changes[k], lookup)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[k] = v
	}
	if err := joinFieldErrors(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// expandValue expands the templates of one value of field key.
func expandValue(key string, v any, lookup func(string) (string, bool)) (any, error) {
	switch x := v.(type) {
	case string:
		return expand(key, x, lookup)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			e, err := expand(fmt.Sprintf("%s[%d]", key, i), s, lookup)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				var err error
				if e, err = expand(fmt.Sprintf("%s[%d]", key, i), s, lookup); err != nil {
					return nil, err
				}
			}
			out[i] = e
		}
		return out, nil
	}
	return v, nil
}

// expand expands the templates in s, the value of field. It returns s
// itself when s holds no "${", a text when a template was substituted, and
// a string when s held only escapes.
func expand(field, s string, lookup func(string) (string, bool)) (any, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	substituted := false
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fieldErr(field, "template: unclosed \"${\" at byte %d", i)
			}
			val, err := resolve(s[i+2:i+end], lookup)
			if err != nil {
				return nil, fieldErr(field, "template %s: %s", s[i:i+end+1], err)
			}
			b.WriteString(val)
			substituted = true
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	if substituted {
		return text(b.String()), nil
	}
	return b.String(), nil
}

// resolve is the value of one template body, such as "ENV:NAME:-x".
func resolve(body string, lookup func(string) (string, bool)) (string, error) {
	src, ref, ok := strings.Cut(body, ":")
	if !ok || src != "ENV" {
		return "", fmt.Errorf("want ENV:NAME or ENV:NAME:-default")
	}
	name, fallback, hasFallback := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", fmt.Errorf("bad variable name %q", name)
	}
	if v, ok := lookup(name); ok {
		return v, nil
	}
	if hasFallback {
		return fallback, nil
	}
	return "", fmt.Errorf("environment variable %s is not set and the template has no default", name)
}

// validEnvName reports whether name matches [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// escapeTemplates makes s read back as itself through expand.
func escapeTemplates(s string) string { return strings.ReplaceAll(s, "${", "$${") }
