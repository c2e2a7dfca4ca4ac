package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

// chaosPrincipals: an operator with chaos:inject and user:admin, and alice
// with user:basic.
func chaosPrincipals(t *testing.T) *web.Principals {
	t.Helper()
	ps, err := web.NewPrincipals(
		web.Principal{Name: "operator", Token: "operator-token", Capabilities: []string{"chaos:inject", "user:admin"}},
		web.Principal{Name: "alice", Token: "alice", Capabilities: []string{"user:basic"}})
	require.NoError(t, err)
	return ps
}

func TestChaosRoute(t *testing.T) {
	faults := fault.New(99)
	node := newNode(t, func(c *actor.Config) { c.Intercept = faults.Intercept })
	h := newHandler(t, node, func(c *web.Config) { c.Principals, c.Faults = chaosPrincipals(t), faults })

	// Authentication, then the capability: 401, 403 naming it.
	require.Equal(t, http.StatusUnauthorized, do(t, h, http.MethodGet, "/v1/chaos", "", "").status)
	res := do(t, h, http.MethodGet, "/v1/chaos", "alice", "")
	require.Equal(t, http.StatusForbidden, res.status)
	require.Equal(t, "permission_denied", res.errorCode())
	require.Contains(t, res.raw, `"missing":["chaos:inject"]`)
	res = do(t, h, http.MethodPut, "/v1/chaos", "alice", `{"rules":[{"rate":1,"action":"panic"}]}`)
	require.Equal(t, http.StatusForbidden, res.status)
	require.Empty(t, faults.Rules(), "a denied PUT changes nothing")
	require.Equal(t, http.StatusMethodNotAllowed, do(t, h, http.MethodPost, "/v1/chaos", "operator-token", "{}").status)

	// Bad bodies change nothing.
	for _, body := range []string{`{`, `{"rules":[{"rate":2,"action":"panic"}]}`, `{"rules":[{"rate":1,"action":"explode"}]}`,
		`{"rules":[{"rate":1,"action":"delay","delay":"soon"}]}`, `{"rules":[],"extra":1}`} {
		res = do(t, h, http.MethodPut, "/v1/chaos", "operator-token", body)
		require.Equal(t, http.StatusBadRequest, res.status, body)
		require.Equal(t, "invalid_argument", res.errorCode())
	}
	require.Empty(t, faults.Rules())

	// The operator turns on panics for counter Increments: intents fail,
	// and the state is kept.
	require.Equal(t, 200, post(t, h, "alice", "counter", "x", incrementType, "").status)
	res = do(t, h, http.MethodPut, "/v1/chaos", "operator-token",
		`{"rules":[{"kind":"counter","type":"Increment","rate":1,"action":"panic"}]}`)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	res = post(t, h, "alice", "counter", "x", incrementType, "")
	require.Equal(t, http.StatusUnprocessableEntity, res.status, res.raw)
	require.Contains(t, res.raw, "fault: injected panic")
	res = do(t, h, http.MethodGet, "/v1/chaos", "operator-token", "")
	require.Equal(t, http.StatusOK, res.status)
	var st web.ChaosState
	require.NoError(t, json.Unmarshal([]byte(res.raw), &st))
	require.Equal(t, uint64(99), st.Seed)
	require.Equal(t, []web.ChaosRule{{Kind: "counter", Type: "Increment", Rate: 1, Action: "panic"}}, st.Rules)
	require.EqualValues(t, 1, st.Injected["panic"])

	// Cleared: intents work again, from the committed count.
	require.Equal(t, http.StatusOK, do(t, h, http.MethodPut, "/v1/chaos", "operator-token", `{"rules":[]}`).status)
	res = post(t, h, "alice", "counter", "x", incrementType, "")
	require.Equal(t, 200, res.status)
	require.Contains(t, res.raw, `"count":"2"`)
}

func TestChaosRouteOff(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node, func(c *web.Config) { c.Principals = chaosPrincipals(t) })
	res := do(t, h, http.MethodGet, "/v1/chaos", "operator-token", "")
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, res.raw, "fault injection is off")
	require.Equal(t, http.StatusForbidden, do(t, h, http.MethodGet, "/v1/chaos", "alice", "").status,
		"the capability is checked before saying whether injection is on")
}
