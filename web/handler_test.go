package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/cluster"
)

func TestHealthz(t *testing.T) {
	node := newNode(t)
	node.ready.Store(false)
	h := newHandler(t, node)

	res := do(t, h, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, res.status, res.raw)
	require.Equal(t, "unavailable", res.errorCode())

	node.ready.Store(true)
	res = do(t, h, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, map[string]any{"status": "ok", "node": "n1", "members": 1.0}, res.body)

	res = do(t, h, http.MethodPost, "/healthz", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, res.status, res.raw)
	require.Equal(t, "GET, HEAD", res.header.Get("Allow"))
}

func TestMembers(t *testing.T) {
	node := newNode(t)
	node.setMembers(
		cluster.Member{ID: "b-2", Name: "n2", Address: "10.0.0.2:8090", Gossip: "10.0.0.2:7946", Kinds: []string{"counter"}, Status: cluster.StatusAlive},
		cluster.Member{ID: "a-1", Name: "n1", Address: "10.0.0.1:8090", Gossip: "10.0.0.1:7946", Kinds: []string{"counter", "volume"}, Status: cluster.StatusAlive},
		cluster.Member{ID: "c-3", Name: "n3", Address: "10.0.0.3:8090", Status: cluster.StatusDead},
	)
	h := newHandler(t, node)

	res := do(t, h, http.MethodGet, "/v1/members", "", "")
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.JSONEq(t, `{"members":[
		{"id":"a-1","name":"n1","address":"10.0.0.1:8090","kinds":["counter","volume"],"status":"alive"},
		{"id":"b-2","name":"n2","address":"10.0.0.2:8090","kinds":["counter"],"status":"alive"},
		{"id":"c-3","name":"n3","address":"10.0.0.3:8090","kinds":[],"status":"dead"}
	]}`, res.raw)

	res = do(t, h, http.MethodGet, "/healthz", "", "")
	require.Equal(t, 2.0, res.body["members"], "live members only")

	res = do(t, h, http.MethodDelete, "/v1/members", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, res.status, res.raw)
	require.Equal(t, "method_not_allowed", res.errorCode())
}

func TestUnknownRoute(t *testing.T) {
	h := newHandler(t, newNode(t))
	// "/" is the dashboard (see dashboard_test.go).
	for _, path := range []string{"/v1", "/v1/intents/x", "/v2/intents", "/nope"} {
		res := do(t, h, http.MethodGet, path, "", "")
		require.Equal(t, http.StatusNotFound, res.status, "%s: %s", path, res.raw)
		require.Equal(t, "not_found", res.errorCode(), path)
	}
}

func TestMetricsMethod(t *testing.T) {
	h := newHandler(t, newNode(t))
	res := do(t, h, http.MethodPost, "/metrics", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, res.status, res.raw)
	require.Equal(t, "method_not_allowed", res.errorCode())
}

// knowingNode is a node that also counts dead members (as cluster.Node
// does for its quorum).
type knowingNode struct {
	*fakeNode
	known []cluster.Member
}

func (n knowingNode) KnownMembers() []cluster.Member { return n.known }

func TestMembersListsKnownDeadMembers(t *testing.T) {
	node := newNode(t)
	node.setMembers(cluster.Member{ID: "a-1", Name: "n1", Address: "10.0.0.1:8090", Status: cluster.StatusAlive})
	h := newHandler(t, knowingNode{node, []cluster.Member{
		{ID: "a-1", Name: "n1", Address: "10.0.0.1:8090", Status: cluster.StatusAlive},
		{ID: "c-3", Name: "n3", Address: "10.0.0.3:8090", Status: cluster.StatusDead},
	}})
	res := do(t, h, http.MethodGet, "/v1/members", "", "")
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.JSONEq(t, `{"members":[
		{"id":"a-1","name":"n1","address":"10.0.0.1:8090","kinds":[],"status":"alive"},
		{"id":"c-3","name":"n3","address":"10.0.0.3:8090","kinds":[],"status":"dead"}
	]}`, res.raw)
}
