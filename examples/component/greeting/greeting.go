// Package greeting is the example components: a visit counter ("visits")
// and a greeter that depends on it, with a configuration (greeting and
// punctuation) that can be updated and rolled back. examples/component runs
// them; `packetflow node` hosts them too.
package greeting

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/component/config"
)

// Definitions are the two components: "greeter" depends on "visits".
func Definitions() []component.Definition {
	return []component.Definition{
		{ID: "greeter", Type: "greeter", Version: "1.0.0", DependsOn: []string{"visits"}, Tags: []string{"example"},
			Config: &Schema, New: func() component.Component { return &greeter{} },
			Alerts: []component.AlertRule{{Name: "errors", Metric: component.MetricErrorRate, Above: 0.5}}},
		{ID: "visits", Type: "counter", Version: "1.0.0", Tags: []string{"example"},
			New: func() component.Component { return &visits{} }},
	}
}

// visits counts the visits of each name.
type visits struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (v *visits) Init(context.Context, *component.Env) error {
	v.counts = map[string]int64{}
	return nil
}
func (v *visits) Start(context.Context) error { return nil }
func (v *visits) Stop(context.Context) error  { return nil }
func (v *visits) Health(context.Context) component.Health {
	return component.Health{Status: component.Healthy}
}

// Receive counts one more visit of the name it is sent and returns the count.
func (v *visits) Receive(_ context.Context, msg proto.Message) (proto.Message, error) {
	name := msg.(*wrapperspb.StringValue).GetValue()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.counts[name]++
	return wrapperspb.Int64(v.counts[name]), nil
}

// greeter greets with its configured greeting and the visit count.
type greeter struct {
	env      *component.Env
	greeting string
}

// Schema is the greeter's configuration.
var Schema = config.Schema{Fields: []config.Field{
	{Key: "greeting", Type: config.String, Default: "Hello", Check: func(v any) error {
		if v.(string) == "" {
			return fmt.Errorf("must not be empty")
		}
		return nil
	}},
	{Key: "punctuation", Type: config.String, Default: "!", Check: config.OneOf("!", ".", "?")},
}}

func (g *greeter) Init(_ context.Context, env *component.Env) error {
	g.env = env
	return g.apply(env.Config.Current())
}
func (g *greeter) apply(s config.Snapshot) error {
	greeting, err := s.GetString("greeting")
	if err != nil {
		return err
	}
	p, err := s.GetString("punctuation")
	g.greeting = greeting + "%s" + p + " (visit %d)"
	return err
}
func (g *greeter) Reconfigure(_ context.Context, _, next config.Snapshot) error { return g.apply(next) }
func (g *greeter) Start(context.Context) error                                  { return nil }
func (g *greeter) Stop(context.Context) error                                   { return nil }
func (g *greeter) Health(context.Context) component.Health {
	return component.Health{Status: component.Healthy}
}

func (g *greeter) Receive(ctx context.Context, msg proto.Message) (proto.Message, error) {
	name := msg.(*wrapperspb.StringValue).GetValue()
	n, err := g.env.Request(ctx, component.Address{Component: "visits"}, wrapperspb.String(name))
	if err != nil {
		return nil, err
	}
	return wrapperspb.String(fmt.Sprintf(g.greeting, ", "+name, n.(*wrapperspb.Int64Value).GetValue())), nil
}
