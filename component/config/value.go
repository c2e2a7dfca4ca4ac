package config

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// text is a string that a template produced. Unlike a plain string it is
// parsed into a non-string field's type: "${ENV:PORT}" may fill an Int.
type text string

// normalize converts v to f's Go type, or says why it cannot.
func normalize(f *Field, v any) (any, error) {
	bad := func(format string, args ...any) (any, error) {
		return nil, fieldErr(f.Key, format, args...)
	}
	wrongType := func() (any, error) { return bad("want %s, got %s", article(f.Type), describe(v)) }
	if t, ok := v.(text); ok {
		return parseText(f, string(t))
	}
	switch f.Type {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Int:
		if n, ok, inRange := asInt64(v); ok {
			if !inRange {
				return bad("%v does not fit in an int64", v)
			}
			return n, nil
		}
		if n, ok := v.(json.Number); ok {
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return bad("want an int, got the number %s", n)
			}
			return i, nil
		}
	case Float:
		var x float64
		switch n := v.(type) {
		case float64:
			x = n
		case float32:
			x = float64(n)
		case json.Number:
			p, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return bad("the number %s is out of range", n)
			}
			x = p
		default:
			i, ok, _ := asInt64(v)
			if !ok {
				return wrongType()
			}
			x = float64(i)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return bad("%v is not a finite number", x)
		}
		return x, nil
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Duration:
		switch d := v.(type) {
		case time.Duration:
			return d, nil
		case string:
			p, err := time.ParseDuration(d)
			if err != nil {
				return bad("%q is not a duration such as \"1m30s\"", d)
			}
			return p, nil
		}
	case Strings:
		switch l := v.(type) {
		case []string:
			return slices.Clone(nonNil(l)), nil
		case []any:
			out := make([]string, len(l))
			for i, e := range l {
				switch s := e.(type) {
				case string:
					out[i] = s
				case text:
					out[i] = string(s)
				default:
					return bad("item %d: want a string, got %s", i, describe(e))
				}
			}
			return out, nil
		}
	}
	return wrongType()
}

// parseText converts a template's result to f's type.
func parseText(f *Field, s string) (any, error) {
	var v any
	var err error
	switch f.Type {
	case String:
		return s, nil
	case Int:
		v, err = strconv.ParseInt(s, 10, 64)
	case Float:
		var x float64
		x, err = strconv.ParseFloat(s, 64)
		if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
			err = fmt.Errorf("not finite")
		}
		v = x
	case Bool:
		v, err = strconv.ParseBool(s)
	case Duration:
		v, err = time.ParseDuration(s)
	default:
		return nil, fieldErr(f.Key, "a template cannot fill a %s; use one template per item", f.Type)
	}
	if err != nil {
		return nil, fieldErr(f.Key, "template result %q is not %s", s, article(f.Type))
	}
	return v, nil
}

// asInt64 reports whether v is a Go integer and, if so, whether it fits.
func asInt64(v any) (n int64, isInt, inRange bool) {
	switch i := v.(type) {
	case int:
		return int64(i), true, true
	case int8:
		return int64(i), true, true
	case int16:
		return int64(i), true, true
	case int32:
		return int64(i), true, true
	case int64:
		return i, true, true
	case uint:
		return int64(i), true, uint64(i) <= math.MaxInt64
	case uint8:
		return int64(i), true, true
	case uint16:
		return int64(i), true, true
	case uint32:
		return int64(i), true, true
	case uint64:
		return int64(i), true, i <= math.MaxInt64
	}
	return 0, false, false
}

// article is "a string", "an int" and so on.
func article(t Type) string {
	if t == Int {
		return "an int"
	}
	return "a " + t.String()
}

// describe names v's kind for an error message without quoting it (it
// may be a secret).
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string, text:
		return "a string"
	case json.Number, float32, float64:
		return "a number"
	case bool:
		return "a bool"
	case time.Duration:
		return "a duration"
	case []string, []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok, _ := asInt64(v); ok {
		return "an integer"
	}
	return fmt.Sprintf("a Go %T", v)
}

// cloneValue returns v, copying a list so that the caller cannot change
// a snapshot through it.
func cloneValue(v any) any {
	if l, ok := v.([]string); ok {
		return slices.Clone(nonNil(l))
	}
	return v
}

// nonNil is l, or an empty list when l is nil.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
