package component_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

// greeter answers "<greeting>, <name>" with its configured greeting.
type greeter struct {
	mu       sync.Mutex
	greeting string
}

func (g *greeter) Init(_ context.Context, env *component.Env) error {
	s, err := env.Config.Current().GetString("greeting")
	g.greeting = s
	return err
}
func (g *greeter) Start(context.Context) error { return nil }
func (g *greeter) Stop(context.Context) error  { return nil }
func (g *greeter) Health(context.Context) component.Health {
	return component.Health{Status: component.Healthy}
}
func (g *greeter) Reconfigure(_ context.Context, _, next config.Snapshot) error {
	s, err := next.GetString("greeting")
	g.mu.Lock()
	g.greeting = s
	g.mu.Unlock()
	return err
}
func (g *greeter) Receive(_ context.Context, msg proto.Message) (proto.Message, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return wrapperspb.String(g.greeting + ", " + msg.(*wrapperspb.StringValue).Value), nil
}

var greeterSchema = config.Schema{Fields: []config.Field{
	{Key: "greeting", Type: config.String, Default: "Hello"},
	{Key: "limits.rate", Type: config.Int, Default: int64(10), Check: config.IntRange(1, 1000)},
}}

func greeterDef() component.Definition {
	return component.Definition{ID: "greeter", Type: "greeter", Config: &greeterSchema,
		New: func() component.Component { return &greeter{} }}
}

// A configuration update is validated, then delivered to the running
// component; a rollback restores a kept version; a bad update changes
// nothing and names the field; another member on the same store sees it.
func TestConfigurationUpdatesReachTheComponent(t *testing.T) {
	shared := store.NewMemory()
	a := startHost(t, component.HostConfig{Store: shared, ConfigPoll: 10 * time.Millisecond}, greeterDef())
	b := startHost(t, component.HostConfig{Store: shared, ConfigPoll: 10 * time.Millisecond, Member: "other"}, greeterDef())
	greet := func(h *component.Host) string {
		reply, err := h.Request(ctx(t), component.Address{Component: "greeter"}, wrapperspb.String("Ada"))
		require.NoError(t, err)
		return reply.(*wrapperspb.StringValue).Value
	}
	require.Equal(t, "Hello, Ada", greet(a))

	cfg, err := a.Config("greeter")
	require.NoError(t, err)
	v1 := cfg.Current().Version()
	_, err = cfg.Update(ctx(t), map[string]any{"greeting": "Bonjour"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return greet(a) == "Bonjour, Ada" }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return greet(b) == "Bonjour, Ada" }, 5*time.Second, 5*time.Millisecond,
		"the other member reads the new version")

	_, err = cfg.Update(ctx(t), map[string]any{"limits.rate": int64(0)})
	require.ErrorIs(t, err, config.ErrInvalid)
	require.ErrorContains(t, err, "limits.rate")
	require.Equal(t, "Bonjour", mustString(t, cfg.Current(), "greeting"), "a bad update changes nothing")

	_, err = cfg.Rollback(ctx(t), v1)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return greet(a) == "Hello, Ada" && greet(b) == "Hello, Ada" }, 5*time.Second, 5*time.Millisecond)

	_, err = a.Config("nope")
	require.ErrorIs(t, err, component.ErrNotFound)
}

func mustString(t *testing.T, s config.Snapshot, key string) string {
	t.Helper()
	v, err := s.GetString(key)
	require.NoError(t, err)
	return v
}
