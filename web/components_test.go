package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/component/componenttest"
	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/web"
)

// A node with a component host: GET /v1/components and /v1/alerts for
// holders of component:read, the components on the dashboard and their
// metrics on /metrics.
func TestComponentRoutes(t *testing.T) {
	node := newNode(t)
	host, err := component.NewHost(component.HostConfig{Runtime: node.Runtime(), Member: "n1", Logger: discard})
	require.NoError(t, err)
	require.NoError(t, host.Define())
	schema := config.Schema{Fields: []config.Field{{Key: "size", Type: config.Int, Default: int64(1)}}}
	cache := componenttest.NewScript(nil).Definition("cache")
	cache.Type, cache.Version, cache.Config = "cache", "1.2.0", &schema
	require.NoError(t, host.Add(cache))
	require.NoError(t, host.Start(context.Background()))
	t.Cleanup(func() { _ = host.Stop(5 * time.Second) })

	ps, err := web.NewPrincipals(
		web.Principal{Name: "alice", Token: "alice", Capabilities: []string{"user:basic"}},
		web.Principal{Name: "reader", Token: "reader", Capabilities: []string{"component:read"}},
		web.Principal{Name: "admin", Token: "admin", Capabilities: []string{"component:admin"}})
	require.NoError(t, err)
	h := newHandler(t, node, func(c *web.Config) { c.Principals, c.ComponentHost = ps, host })

	for _, path := range []string{"/v1/components", "/v1/alerts"} {
		res := get(t, h, "GET", path)
		require.Equal(t, 401, res.status, res.body)
		res = get(t, h, "GET", path, "Authorization", "Bearer alice")
		require.Equal(t, 403, res.status, res.body)
		require.Contains(t, res.body, `"missing":["component:read"]`)
		res = get(t, h, "POST", path, "Authorization", "Bearer reader")
		require.Equal(t, 405, res.status, res.body)
	}
	res := get(t, h, "GET", "/v1/components?type=cache&version=%5E1.1", "Authorization", "Bearer reader")
	require.Equal(t, 200, res.status, res.body)
	require.Contains(t, res.body, `"id":"cache","member":"n1","type":"cache","version":"1.2.0"`)
	res = get(t, h, "GET", "/v1/components?version=%5E2", "Authorization", "Bearer admin")
	require.Equal(t, 200, res.status, res.body)
	require.Contains(t, res.body, `"components":[]`, "admin implies read; no 2.x cache")
	res = get(t, h, "GET", "/v1/components?version=nonsense", "Authorization", "Bearer reader")
	require.Equal(t, 400, res.status)
	require.Contains(t, res.body, `"code":"invalid_argument"`)
	res = get(t, h, "GET", "/v1/components?healthy=maybe", "Authorization", "Bearer reader")
	require.Equal(t, 400, res.status)
	res = get(t, h, "GET", "/v1/alerts", "Authorization", "Bearer reader")
	require.Equal(t, 200, res.status, res.body)
	require.JSONEq(t, `{"member":"n1","alerts":[]}`, res.body)

	res = get(t, h, "GET", "/", "Authorization", "Bearer reader")
	require.Equal(t, 200, res.status, res.body)
	require.Contains(t, res.body, "cache")
	res = get(t, h, "GET", "/metrics")
	require.Contains(t, res.body, `packetflow_component_events_total{component="cache",event="started",member="n1"} 1`)
}
