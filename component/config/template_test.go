package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

// env is a fake environment for LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestTemplates(t *testing.T) {
	lookup := env(map[string]string{"DB_HOST": "db.prod", "POOL": "42", "IDLE": "2m", "DEBUG": "true", "EMPTY": "", "RATIO": "0.25"})
	tests := []struct {
		name    string
		changes map[string]any
		key     string
		want    any
		err     *fieldProblem
	}{
		{"whole value", map[string]any{"db.host": "${ENV:DB_HOST}"}, "db.host", "db.prod", nil},
		{"inside a string", map[string]any{"db.host": "tcp://${ENV:DB_HOST}:5432/${ENV:EMPTY}"}, "db.host", "tcp://db.prod:5432/", nil},
		{"fallback when unset", map[string]any{"db.host": "${ENV:NOPE:-fallback.local}"}, "db.host", "fallback.local", nil},
		{"set beats fallback", map[string]any{"db.host": "${ENV:DB_HOST:-fallback}"}, "db.host", "db.prod", nil},
		{"set to empty is set", map[string]any{"db.host": "${ENV:EMPTY:-x}"}, "db.host", "", nil},
		{"escape", map[string]any{"db.host": "$${ENV:DB_HOST}"}, "db.host", "${ENV:DB_HOST}", nil},
		{"int from a variable", map[string]any{"db.pool.size": "${ENV:POOL}"}, "db.pool.size", int64(42), nil},
		{"float from a variable", map[string]any{"ratio": "${ENV:RATIO}"}, "ratio", 0.25, nil},
		{"duration from a variable", map[string]any{"db.pool.idle": "${ENV:IDLE}"}, "db.pool.idle", 2 * time.Minute, nil},
		{"bool from a variable", map[string]any{"debug": "${ENV:DEBUG}"}, "debug", true, nil},
		{"list items", map[string]any{"peers": []string{"${ENV:DB_HOST}", "b"}}, "peers", []string{"db.prod", "b"}, nil},
		{"list items from JSON", map[string]any{"peers": []any{"${ENV:NOPE:-x}"}}, "peers", []string{"x"}, nil},
		{"unset without default", map[string]any{"db.host": "${ENV:NOPE}"}, "", nil,
			&fieldProblem{"db.host", "environment variable NOPE is not set and the template has no default"}},
		{"unset in a list item", map[string]any{"peers": []string{"a", "${ENV:NOPE}"}}, "", nil, &fieldProblem{"peers[1]", "NOPE is not set"}},
		{"unknown source", map[string]any{"db.host": "${FILE:/etc/passwd}"}, "", nil, &fieldProblem{"db.host", "want ENV:NAME"}},
		{"unclosed", map[string]any{"db.host": "x${ENV:DB_HOST"}, "", nil, &fieldProblem{"db.host", `unclosed "${" at byte 1`}},
		{"bad name", map[string]any{"db.host": "${ENV:1X}"}, "", nil, &fieldProblem{"db.host", `bad variable name "1X"`}},
		{"result not an int", map[string]any{"db.pool.size": "${ENV:DB_HOST}"}, "", nil, &fieldProblem{"db.pool.size", "is not an int"}},
		{"result fails the check", map[string]any{"db.pool.size": "${ENV:NOPE:-500}"}, "", nil, &fieldProblem{"db.pool.size", "out of range"}},
		{"a template cannot fill a list", map[string]any{"peers": "${ENV:DB_HOST}"}, "", nil, &fieldProblem{"peers", "cannot fill a list"}},
	}
	c := open(t, store.NewMemory(), config.Options{LookupEnv: lookup})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Current()
			s, err := c.Update(ctx, tt.changes)
			if tt.err != nil {
				assertFieldErrors(t, err, *tt.err)
				assert.Equal(t, before, c.Current())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, first(s.Get(tt.key)))
		})
	}
}

func TestTemplatesInInitialValuesGateByEnvironment(t *testing.T) {
	initial := map[string]any{"name": "svc", "db.host": "${ENV:DB_HOST:-localhost}", "db.pool.size": "${ENV:POOL:-5}"}
	dev := open(t, store.NewMemory(), config.Options{Initial: initial, LookupEnv: env(nil)})
	prod := open(t, store.NewMemory(), config.Options{Initial: initial, LookupEnv: env(map[string]string{"DB_HOST": "db.prod", "POOL": "50"})})
	assert.Equal(t, "localhost", first(dev.Current().GetString("db.host")))
	assert.Equal(t, int64(5), first(dev.Current().GetInt("db.pool.size")))
	assert.Equal(t, "db.prod", first(prod.Current().GetString("db.host")))
	assert.Equal(t, int64(50), first(prod.Current().GetInt("db.pool.size")))

	_, err := config.New(ctx, store.NewMemory(), "svc", dbSchema(), config.Options{
		Initial: map[string]any{"name": "${ENV:SERVICE_NAME}"}, LookupEnv: env(nil),
	})
	assertFieldErrors(t, err, fieldProblem{"name", "SERVICE_NAME is not set"})
}

func TestTemplatesInImport(t *testing.T) {
	c := open(t, store.NewMemory(), config.Options{LookupEnv: env(map[string]string{"NAME": "imported"})})
	s, err := c.Import(ctx, []byte(`{"name": "${ENV:NAME}", "db": {"pool": {"size": "${ENV:NOPE:-7}"}}}`))
	require.NoError(t, err)
	assert.Equal(t, "imported", first(s.GetString("name")))
	assert.Equal(t, int64(7), first(s.GetInt("db.pool.size")))
}
