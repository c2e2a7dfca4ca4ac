package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
)

// dbSchema is the schema most tests use.
func dbSchema() config.Schema {
	return config.Schema{
		Fields: []config.Field{
			{Key: "name", Type: config.String, Required: true},
			{Key: "db.host", Type: config.String, Default: "localhost"},
			{Key: "db.pool.size", Type: config.Int, Default: 10, Check: config.IntRange(1, 100)},
			{Key: "db.pool.idle", Type: config.Duration, Default: "30s"},
			{Key: "ratio", Type: config.Float, Default: 0.5},
			{Key: "debug", Type: config.Bool},
			{Key: "mode", Type: config.String, Default: "fast", Check: config.OneOf("fast", "safe")},
			{Key: "peers", Type: config.Strings},
			{Key: "limits.min", Type: config.Int, Default: 1},
			{Key: "limits.max", Type: config.Int, Default: 100},
		},
		Check: func(s config.Snapshot) error {
			lo, _ := s.GetInt("limits.min")
			hi, _ := s.GetInt("limits.max")
			if lo > hi {
				return &config.FieldError{Field: "limits.min", Reason: fmt.Sprintf("%d is above limits.max %d", lo, hi)}
			}
			return nil
		},
	}
}

// defaults are dbSchema's values when only name is set to "svc".
func defaults() map[string]any {
	return map[string]any{
		"name": "svc", "db.host": "localhost", "db.pool.size": int64(10), "db.pool.idle": 30 * time.Second,
		"ratio": 0.5, "mode": "fast", "limits.min": int64(1), "limits.max": int64(100),
	}
}

// with is defaults() with changes applied.
func with(changes map[string]any) map[string]any {
	out := defaults()
	for k, v := range changes {
		out[k] = v
	}
	return out
}

// fieldProblem is what a test expects of one *FieldError.
type fieldProblem struct{ field, reason string }

// assertFieldErrors checks that err matches ErrInvalid and holds exactly
// the field errors want (reason is a substring), in any order.
func assertFieldErrors(t *testing.T, err error, want ...fieldProblem) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, config.ErrInvalid)
	var got []*config.FieldError
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*config.FieldError); ok {
			got = append(got, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		} else if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	walk(err)
	require.Len(t, got, len(want), "field errors of %v", err)
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.Field == w.field && strings.Contains(g.Reason, w.reason) {
				found = true
			}
		}
		assert.True(t, found, "no field error %q with reason containing %q in %v", w.field, w.reason, err)
	}
}

func TestValidateAppliesDefaultsAndConvertsTypes(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"only the required field: every default applied", map[string]any{"name": "svc"}, defaults()},
		{"any Go integer fills an int", map[string]any{"name": "svc", "db.pool.size": uint8(7)}, with(map[string]any{"db.pool.size": int64(7)})},
		{"an integer fills a float", map[string]any{"name": "svc", "ratio": 2}, with(map[string]any{"ratio": 2.0})},
		{"a duration string", map[string]any{"name": "svc", "db.pool.idle": "1m30s"}, with(map[string]any{"db.pool.idle": 90 * time.Second})},
		{"a time.Duration", map[string]any{"name": "svc", "db.pool.idle": time.Second}, with(map[string]any{"db.pool.idle": time.Second})},
		{"a bool without default", map[string]any{"name": "svc", "debug": true}, with(map[string]any{"debug": true})},
		{"a list from []any", map[string]any{"name": "svc", "peers": []any{"a", "b"}}, with(map[string]any{"peers": []string{"a", "b"}})},
		{"an empty list is a value", map[string]any{"name": "svc", "peers": []string{}}, with(map[string]any{"peers": []string{}})},
		{"a set value beats the default", map[string]any{"name": "svc", "db.host": "db1", "mode": "safe"}, with(map[string]any{"db.host": "db1", "mode": "safe"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := dbSchema().Validate(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, snap.Values())
			assert.Zero(t, snap.Version())
		})
	}
}

func TestValidateNamesTheFieldAndTheReason(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want []fieldProblem
	}{
		{"required field missing", map[string]any{}, []fieldProblem{{"name", "required"}}},
		{"unknown field", map[string]any{"name": "svc", "db.port": 5432}, []fieldProblem{{"db.port", "unknown field"}}},
		{"an object is not a field", map[string]any{"name": "svc", "db.pool": 5}, []fieldProblem{{"db.pool", "object of fields"}}},
		{"string for an int", map[string]any{"name": "svc", "db.pool.size": "10"}, []fieldProblem{{"db.pool.size", "want an int, got a string"}}},
		{"float for an int", map[string]any{"name": "svc", "db.pool.size": 1.5}, []fieldProblem{{"db.pool.size", "want an int, got a number"}}},
		{"uint64 too big", map[string]any{"name": "svc", "db.pool.size": uint64(1 << 63)}, []fieldProblem{{"db.pool.size", "does not fit"}}},
		{"custom check", map[string]any{"name": "svc", "db.pool.size": 0}, []fieldProblem{{"db.pool.size", "out of range [1, 100]"}}},
		{"one-of check", map[string]any{"name": "svc", "mode": "slow"}, []fieldProblem{{"mode", `"slow" is not one of fast, safe`}}},
		{"bad duration", map[string]any{"name": "svc", "db.pool.idle": "soon"}, []fieldProblem{{"db.pool.idle", "not a duration"}}},
		{"integer for a duration", map[string]any{"name": "svc", "db.pool.idle": 30}, []fieldProblem{{"db.pool.idle", "want a duration, got an integer"}}},
		{"NaN float", map[string]any{"name": "svc", "ratio": nan()}, []fieldProblem{{"ratio", "not a finite number"}}},
		{"list item not a string", map[string]any{"name": "svc", "peers": []any{"a", 1}}, []fieldProblem{{"peers", "item 1: want a string"}}},
		{"string for a bool", map[string]any{"name": "svc", "debug": "yes"}, []fieldProblem{{"debug", "want a bool"}}},
		{"null", map[string]any{"name": nil}, []fieldProblem{{"name", "got null"}}},
		{"schema-level check names its field", map[string]any{"name": "svc", "limits.min": 5, "limits.max": 4}, []fieldProblem{{"limits.min", "above limits.max 4"}}},
		{"every bad field is reported", map[string]any{"db.pool.size": 500, "mode": "x", "extra": 1},
			[]fieldProblem{{"name", "required"}, {"db.pool.size", "out of range"}, {"mode", "not one of"}, {"extra", "unknown"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dbSchema().Validate(tt.in)
			assertFieldErrors(t, err, tt.want...)
		})
	}
}

func nan() float64 { zero := 0.0; return zero / zero }

func TestSchemaLevelCheckPlainErrorHasNoField(t *testing.T) {
	s := config.Schema{
		Fields: []config.Field{{Key: "a", Type: config.Int}},
		Check:  func(config.Snapshot) error { return errBoom },
	}
	_, err := s.Validate(nil)
	assertFieldErrors(t, err, fieldProblem{"", "schema check: boom"})
	assert.ErrorIs(t, err, errBoom, "the check's own error stays reachable")
}

var errBoom = errors.New("boom")

func TestFieldCheckErrorIsWrapped(t *testing.T) {
	s := config.Schema{Fields: []config.Field{{Key: "a", Type: config.Int, Check: func(any) error { return errBoom }}}}
	_, err := s.Validate(map[string]any{"a": 1})
	assertFieldErrors(t, err, fieldProblem{"a", "boom"})
	assert.ErrorIs(t, err, errBoom)
	assert.EqualError(t, err, `config: field "a": boom`)
}

func TestSchemaDefinitionErrors(t *testing.T) {
	tests := []struct {
		name   string
		fields []config.Field
		want   fieldProblem
	}{
		{"empty key", []config.Field{{Key: "", Type: config.Int}}, fieldProblem{"", "bad key: empty"}},
		{"empty segment", []config.Field{{Key: "db..size", Type: config.Int}}, fieldProblem{"db..size", "empty segment"}},
		{"bad character", []config.Field{{Key: "db pool", Type: config.Int}}, fieldProblem{"db pool", "only letters"}},
		{"declared twice", []config.Field{{Key: "a", Type: config.Int}, {Key: "a", Type: config.String}}, fieldProblem{"a", "declared twice"}},
		{"no type", []config.Field{{Key: "a"}}, fieldProblem{"a", "unknown type 0"}},
		{"required with default", []config.Field{{Key: "a", Type: config.Int, Required: true, Default: 1}}, fieldProblem{"a", "cannot have a default"}},
		{"default of the wrong type", []config.Field{{Key: "a", Type: config.Int, Default: "x"}}, fieldProblem{"a", "bad default: want an int"}},
		{"default fails its check", []config.Field{{Key: "a", Type: config.Int, Default: 0, Check: config.IntRange(1, 2)}}, fieldProblem{"a", "bad default: 0 is out of range"}},
		{"field and parent", []config.Field{{Key: "db", Type: config.Int}, {Key: "db.size", Type: config.Int}}, fieldProblem{"db", "both a field and the parent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Schema{Fields: tt.fields}.Validate(nil)
			assertFieldErrors(t, err, tt.want)
		})
	}
}

func TestTypeNames(t *testing.T) {
	assert.Equal(t, "list of strings", config.Strings.String())
	assert.Equal(t, "duration", config.Duration.String())
	assert.Equal(t, "Type(9)", config.Type(9).String())
}

func TestPanickingChecksRefuseInsteadOfCrashing(t *testing.T) {
	s := config.Schema{Fields: []config.Field{{Key: "a", Type: config.Int, Check: func(any) error { panic("oops") }}}}
	_, err := s.Validate(map[string]any{"a": 1})
	assertFieldErrors(t, err, fieldProblem{"a", "check panicked: oops"})

	s = config.Schema{Check: func(config.Snapshot) error { panic("oops") }}
	_, err = s.Validate(nil)
	assertFieldErrors(t, err, fieldProblem{"", "schema check: check panicked: oops"})
}
