package config_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

func TestExportIsNestedJSONAndImportRoundTrips(t *testing.T) {
	a := open(t, store.NewMemory(), config.Options{Initial: map[string]any{
		"name": "svc $${literal}", "peers": []string{"a", "$${b}"}, "debug": false, "ratio": 2, "db.pool.idle": "90s",
	}, LookupEnv: noEnv})
	data, err := a.Export()
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"name": "svc $${literal}",
		"db": {"host": "localhost", "pool": {"size": 10, "idle": "1m30s"}},
		"ratio": 2, "debug": false, "mode": "fast",
		"peers": ["a", "$${b}"],
		"limits": {"min": 1, "max": 100}
	}`, string(data))

	b := open(t, store.NewMemory(), config.Options{})
	s, err := b.Import(ctx, data)
	require.NoError(t, err)
	assert.Equal(t, config.CauseImport, s.Cause())
	assert.True(t, s.SameValues(a.Current()), "import(export) restores exactly: %v", s.Values())
	assert.Equal(t, "svc ${literal}", first(s.GetString("name")))
}

func noEnv(string) (string, bool) { return "", false }

func TestImportReplacesTheWholeConfiguration(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{Initial: map[string]any{"name": "svc", "debug": true}})
	s, err := c.Import(ctx, []byte(`{"name": "other", "db": {"pool": {"size": 3}}}`))
	require.NoError(t, err)
	assert.Equal(t, with(map[string]any{"name": "other", "db.pool.size": int64(3)}), s.Values(),
		"unset keys take their defaults; debug is gone")
}

func TestImportRefusesBadJSON(t *testing.T) {
	tests := []struct {
		name, doc, want string
		field           string // when the refusal is a *FieldError
	}{
		{"empty", ``, "malformed JSON: unexpected end of input", ""},
		{"malformed", `{"name": "svc",}`, "malformed JSON", ""},
		{"truncated", `{"name": "svc", "db": {"host": "x"`, "malformed JSON", ""},
		{"trailing data", `{"name": "svc"} {}`, "data after the JSON object", ""},
		{"not an object", `["name"]`, "want a JSON object, got an array", ""},
		{"a scalar", `42`, "want a JSON object, got a number", ""},
		{"duplicate key", `{"name": "a", "name": "b"}`, `key "name" appears twice`, ""},
		{"duplicate nested key", `{"name": "a", "db": {"host": "x", "host": "y"}}`, `key "db.host" appears twice`, ""},
		{"dotted key", `{"name": "a", "db.host": "x"}`, `bad key "db.host"`, ""},
		{"unknown key", `{"name": "a", "db": {"port": 5432}}`, "unknown field", "db.port"},
		{"unknown top-level key", `{"name": "a", "colour": "red"}`, "unknown field", "colour"},
		{"string for an int", `{"name": "a", "db": {"pool": {"size": "10"}}}`, "want an int, got a string", "db.pool.size"},
		{"fraction for an int", `{"name": "a", "db": {"pool": {"size": 1.5}}}`, "want an int, got the number 1.5", "db.pool.size"},
		{"number for a duration", `{"name": "a", "db": {"pool": {"idle": 30}}}`, "want a duration, got a number", "db.pool.idle"},
		{"string for a bool", `{"name": "a", "debug": "true"}`, "want a bool, got a string", "debug"},
		{"number in a list", `{"name": "a", "peers": ["a", 2]}`, "item 1: want a string, got a number", "peers"},
		{"object for a field", `{"name": "a", "debug": {"on": true}}`, "want a bool, got an object", "debug"},
		{"scalar for an object", `{"name": "a", "db": 5}`, "object of fields", "db"},
		{"null", `{"name": null}`, "want a string, got null", "name"},
		{"required missing", `{}`, "required", "name"},
		{"invalid value", `{"name": "a", "mode": "slow"}`, "not one of", "mode"},
	}
	c := open(t, store.NewMemory(), config.Options{})
	before := c.Current()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Import(ctx, []byte(tt.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, config.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
			if tt.field != "" {
				assertFieldErrors(t, err, fieldProblem{tt.field, tt.want})
			}
			assert.Equal(t, before, c.Current(), "a refused import changes nothing")
		})
	}
}

func TestImportRefusesDeepNesting(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	doc := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	_, err := c.Import(ctx, []byte(doc))
	assert.ErrorIs(t, err, config.ErrInvalid)
	assert.Contains(t, err.Error(), "nest more than 64 deep")
}

func TestSnapshotMarshalsWithEncodingJSON(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{})
	data, err := json.Marshal(struct{ Config config.Snapshot }{c.Current()})
	require.NoError(t, err)
	assert.Contains(t, string(data), `"Config":{"db":{"host":"localhost"`)
}
