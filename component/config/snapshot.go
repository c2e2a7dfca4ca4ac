package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"
)

// Cause says what made a version.
type Cause string

// The causes of a version.
const (
	CauseInit     Cause = "init"     // the first configuration, written by New
	CauseUpdate   Cause = "update"   // Config.Update
	CauseImport   Cause = "import"   // Config.Import
	CauseSchema   Cause = "schema"   // a schema change that added defaults
	CauseRollback Cause = "rollback" // Config.Rollback; see Snapshot.RestoredFrom
)

// version is one committed configuration. It is never changed after it
// is built, so snapshots share it freely.
type version struct {
	number       uint64
	values       map[string]any // by dotted key; canonical Go types
	time         time.Time
	cause        Cause
	restoredFrom uint64
	enc          []byte // the stored form (configpb.Version); nil for a candidate
}

// Snapshot is one version of a configuration. It is immutable: nothing a
// caller does to it, or to what its methods return, changes it, and it
// stays valid after later updates. The zero Snapshot is an empty
// configuration with Version 0.
type Snapshot struct{ v *version }

func (s Snapshot) ver() *version {
	if s.v == nil {
		return &version{}
	}
	return s.v
}

// Version is the snapshot's version number: 1 for the first
// configuration, one more for each change; 0 for a candidate that
// Schema.Validate or a schema check sees.
func (s Snapshot) Version() uint64 { return s.ver().number }

// Time is when the version was committed, by the writing member's clock.
func (s Snapshot) Time() time.Time { return s.ver().time }

// Cause says what made the version.
func (s Snapshot) Cause() Cause { return s.ver().cause }

// RestoredFrom is, for a rollback, the version whose values it restored;
// otherwise 0.
func (s Snapshot) RestoredFrom() uint64 { return s.ver().restoredFrom }

// Get returns key's value in its field's Go type (see Type). A key with
// no value, or one the schema does not declare, is an error matching
// ErrNotFound.
func (s Snapshot) Get(key string) (any, error) {
	v, ok := s.ver().values[key]
	if !ok {
		return nil, fmt.Errorf("%w: key %q has no value in version %d", ErrNotFound, key, s.Version())
	}
	return cloneValue(v), nil
}

// Keys returns the keys that have values, sorted.
func (s Snapshot) Keys() []string { return sortedKeys(s.ver().values) }

// Values returns a copy of every value by dotted key.
func (s Snapshot) Values() map[string]any {
	out := make(map[string]any, len(s.ver().values))
	for k, v := range s.ver().values {
		out[k] = cloneValue(v)
	}
	return out
}

// SameValues reports whether s and o hold exactly the same values.
func (s Snapshot) SameValues(o Snapshot) bool {
	return maps.EqualFunc(s.ver().values, o.ver().values, func(a, b any) bool { return reflect.DeepEqual(a, b) })
}

// GetString returns a String field's value; see Get.
func (s Snapshot) GetString(key string) (string, error) { return typed[string](s, key, String) }

// GetInt returns an Int field's value; see Get.
func (s Snapshot) GetInt(key string) (int64, error) { return typed[int64](s, key, Int) }

// GetFloat returns a Float field's value; see Get.
func (s Snapshot) GetFloat(key string) (float64, error) { return typed[float64](s, key, Float) }

// GetBool returns a Bool field's value; see Get.
func (s Snapshot) GetBool(key string) (bool, error) { return typed[bool](s, key, Bool) }

// GetDuration returns a Duration field's value; see Get.
func (s Snapshot) GetDuration(key string) (time.Duration, error) {
	return typed[time.Duration](s, key, Duration)
}

// GetStrings returns a copy of a Strings field's value; see Get.
func (s Snapshot) GetStrings(key string) ([]string, error) { return typed[[]string](s, key, Strings) }

// typed is key's value as a T; a value of another type matches ErrInvalid.
func typed[T any](s Snapshot, key string, t Type) (T, error) {
	var zero T
	v, err := s.Get(key)
	if err != nil {
		return zero, err
	}
	x, ok := v.(T)
	if !ok {
		return zero, fieldErr(key, "is %s, not %s", describe(v), article(t))
	}
	return x, nil
}

// MarshalJSON writes the values as nested JSON objects, one level per key
// segment, in the form Import reads back to the same values: durations as
// strings such as "1m30s", lists as arrays, and a literal "${" in a string
// as "$${" so that it is not taken for a template.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	root := map[string]any{}
	for k, v := range s.ver().values {
		obj := root
		segs := strings.Split(k, ".")
		for _, seg := range segs[:len(segs)-1] {
			next, ok := obj[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[seg] = next
			}
			obj = next
		}
		obj[segs[len(segs)-1]] = jsonValue(v)
	}
	return json.Marshal(root)
}

// jsonValue is v in the form MarshalJSON writes.
func jsonValue(v any) any {
	switch x := v.(type) {
	case string:
		return escapeTemplates(x)
	case time.Duration:
		return x.String()
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = escapeTemplates(s)
		}
		return out
	}
	return v
}
