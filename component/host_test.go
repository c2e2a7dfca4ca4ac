package component_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/component"
	"github.com/packetflow/packetflow/component/componenttest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startHost starts a lone host (no cluster) with defs.
func startHost(t *testing.T, cfg component.HostConfig, defs ...component.Definition) *component.Host {
	t.Helper()
	rt, err := actor.NewRuntime(actor.Config{Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	cfg.Runtime = rt
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	h, err := component.NewHost(cfg)
	require.NoError(t, err)
	require.NoError(t, h.Define())
	require.NoError(t, h.Add(defs...))
	require.NoError(t, h.Start(context.Background()))
	t.Cleanup(func() { _ = h.Stop(5 * time.Second) })
	return h
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestStartsInDependencyOrderAndStopsInReverse(t *testing.T) {
	rec := &componenttest.Recorder{}
	s := componenttest.NewScript(rec)
	// Defined out of order: the host sorts them by dependency.
	h := startHost(t, component.HostConfig{},
		s.Definition("api", "cache", "db"), s.Definition("cache", "db"), s.Definition("db"))
	rec.AssertOrder(t, "init db", "start db", "init cache", "start cache", "init api", "start api")
	for _, e := range h.Local() {
		require.Equal(t, "running", e.State, e.ID)
	}
	require.NoError(t, h.Stop(5*time.Second))
	rec.AssertOrder(t, "start api", "stop api", "stop cache", "stop db")
}

func TestDefinitionErrorsNameTheComponents(t *testing.T) {
	s := componenttest.NewScript(nil)
	for _, tc := range []struct {
		defs []component.Definition
		want string
	}{
		{[]component.Definition{s.Definition("a", "b"), s.Definition("b", "c"), s.Definition("c", "a")}, "dependency cycle a → b → c → a"},
		{[]component.Definition{s.Definition("a", "ghost")}, "a depends on ghost, which is not defined"},
		{[]component.Definition{s.Definition("a", "a")}, "a: depends on itself"},
		{[]component.Definition{s.Definition("a"), s.Definition("a")}, `two components have the id "a"`},
		{[]component.Definition{{ID: "bad id", Type: "t", New: s.Definition("x").New}}, `component id "bad id"`},
		{[]component.Definition{{ID: "a", Type: "t"}}, "a: no New function"},
		{[]component.Definition{{ID: "a", Type: "t", Version: "one", New: s.Definition("x").New}}, `a: version "one"`},
		{[]component.Definition{{ID: "a", Type: "t", New: s.Definition("x").New, Alerts: []component.AlertRule{{Name: "x", Above: 1, ClearAt: 2}}}}, "ClearAt 2 is above the threshold 1"},
	} {
		rt, err := actor.NewRuntime(actor.Config{Logger: quiet()})
		require.NoError(t, err)
		h, err := component.NewHost(component.HostConfig{Runtime: rt, Logger: quiet()})
		require.NoError(t, err)
		require.NoError(t, h.Define())
		err = h.Add(tc.defs...)
		if err == nil {
			err = h.Start(context.Background())
		}
		require.ErrorIs(t, err, component.ErrDefinition)
		require.ErrorContains(t, err, tc.want)
		require.Empty(t, h.Local(), "nothing started")
		require.NoError(t, rt.Stop())
	}
}

func TestFailedStartIsRestartedBySupervisor(t *testing.T) {
	rec := &componenttest.Recorder{}
	s := componenttest.NewScript(rec)
	s.StartErrs = []error{errors.New("port busy"), errors.New("port busy")}
	h := startHost(t, component.HostConfig{}, s.Definition("db"))
	require.Eventually(t, func() bool { return h.Local()[0].State == "running" }, 5*time.Second, time.Millisecond)
	require.Equal(t, 3, s.Instances(), "a fresh instance for each attempt")
	require.Equal(t, []string{"db", "db", "db"}, rec.Of("init"))
}

func TestOnDemandStopAndStartMindDependencies(t *testing.T) {
	rec := &componenttest.Recorder{}
	s := componenttest.NewScript(rec)
	h := startHost(t, component.HostConfig{}, s.Definition("db"), s.Definition("cache", "db"), s.Definition("api", "cache"))
	require.NoError(t, h.StopComponent(ctx(t), "db"))
	require.Equal(t, []string{"api", "cache", "db"}, rec.Of("stop"), "dependents stop first")
	_, err := h.Request(ctx(t), component.Address{Component: "cache"}, wrapperspb.String("x"))
	require.ErrorIs(t, err, component.ErrNotRunning)

	require.NoError(t, h.StartComponent(ctx(t), "api"))
	starts := rec.Of("start")
	require.Equal(t, []string{"db", "cache", "api"}, starts[len(starts)-3:], "dependencies start first")
	require.NoError(t, h.RestartComponent(ctx(t), "cache"))
	rec.AssertOrder(t, "stop cache", "init cache", "start cache")
	_, err = h.Request(ctx(t), component.Address{Component: "nope"}, wrapperspb.String("x"))
	require.ErrorIs(t, err, component.ErrNotFound)
}

func TestPrioritiesReorderTheMailbox(t *testing.T) {
	rec := &componenttest.Recorder{}
	s := componenttest.NewScript(rec)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	s.OnReceive = func(_ context.Context, msg proto.Message) (proto.Message, error) {
		if msg.(*wrapperspb.StringValue).Value == "first" {
			entered <- struct{}{}
			<-release
		}
		return msg, nil
	}
	h := startHost(t, component.HostConfig{}, s.Definition("worker"))
	to := component.Address{Component: "worker"}
	require.NoError(t, h.Send(ctx(t), to, wrapperspb.String("first")))
	<-entered // the worker is busy: the next ones wait in its mailbox
	require.NoError(t, h.Send(ctx(t), to, wrapperspb.String("low"), component.WithPriority(component.LowPriority)))
	require.NoError(t, h.Send(ctx(t), to, wrapperspb.String("default")))
	require.NoError(t, h.Send(ctx(t), to, wrapperspb.String("high"), component.WithPriority(component.HighPriority)))
	close(release)
	require.Eventually(t, func() bool { return len(s.Received()) == 4 }, 5*time.Second, time.Millisecond)
	var got []string
	for _, m := range s.Received() {
		got = append(got, m.(*wrapperspb.StringValue).Value)
	}
	require.Equal(t, []string{"first", "high", "default", "low"}, got)
}

func TestRequestRepliesAndTimesOut(t *testing.T) {
	s := componenttest.NewScript(nil)
	s.OnReceive = func(ctx context.Context, msg proto.Message) (proto.Message, error) {
		if msg.(*wrapperspb.StringValue).Value == "slow" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return wrapperspb.String(strings.ToUpper(msg.(*wrapperspb.StringValue).Value)), nil
	}
	h := startHost(t, component.HostConfig{}, s.Definition("echo"))
	to := component.Address{Component: "echo"}
	reply, err := h.Request(ctx(t), to, wrapperspb.String("hi"))
	require.NoError(t, err)
	require.Equal(t, "HI", reply.(*wrapperspb.StringValue).Value)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = h.Request(short, to, wrapperspb.String("slow"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// An alert on the error rate fires once when it crosses the threshold and
// clears when the rate recovers.
func TestAlertFiresOnceAndClears(t *testing.T) {
	s := componenttest.NewScript(nil)
	var fail sync.Map
	s.OnReceive = func(_ context.Context, msg proto.Message) (proto.Message, error) {
		if _, bad := fail.Load(msg.(*wrapperspb.StringValue).Value); bad {
			return nil, errors.New("refused")
		}
		return nil, nil
	}
	def := s.Definition("api")
	def.HealthInterval = 20 * time.Millisecond
	def.Alerts = []component.AlertRule{{Name: "errors", Metric: component.MetricErrorRate, Above: 0.5, ClearAt: 0.1}}
	h := startHost(t, component.HostConfig{}, def)
	var mu sync.Mutex
	var alerts []component.Event
	h.Subscribe(func(e component.Event) {
		if e.Kind == component.EventAlert || e.Kind == component.EventAlertCleared {
			mu.Lock()
			alerts = append(alerts, e)
			mu.Unlock()
		}
	})
	events := func() []component.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]component.Event(nil), alerts...)
	}
	to := component.Address{Component: "api"}
	fail.Store("bad", true)
	// Failing traffic across several checks: the alert fires once.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		_, _ = h.Request(ctx(t), to, wrapperspb.String("bad"))
		time.Sleep(2 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return len(events()) >= 1 }, 5*time.Second, time.Millisecond)
	require.Len(t, events(), 1, "fires once while the condition lasts")
	require.Equal(t, component.EventAlert, events()[0].Kind)
	require.Len(t, h.Alerts(), 1)
	require.Equal(t, []string{"errors"}, h.Local()[0].Alerts)

	// Healthy traffic: it clears, once.
	deadline = time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		_, _ = h.Request(ctx(t), to, wrapperspb.String("good"))
		time.Sleep(2 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return len(events()) == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, component.EventAlertCleared, events()[1].Kind)
	require.Empty(t, h.Alerts())
}

func TestHealthChecksTimeOutAsUnhealthy(t *testing.T) {
	s := componenttest.NewScript(nil)
	s.Healths = []component.Health{{Status: component.Degraded, Detail: "slow disk"}}
	def := s.Definition("db")
	def.HealthInterval = 10 * time.Millisecond
	stuck := componenttest.NewScript(nil)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	hung := component.Definition{ID: "hung", Type: "mock", HealthInterval: 10 * time.Millisecond, HealthTimeout: 20 * time.Millisecond,
		New: func() component.Component { return &blockingHealth{Component: stuck.New("hung"), block: block} }}
	h := startHost(t, component.HostConfig{}, def, hung)
	require.Eventually(t, func() bool {
		e := h.Local()
		return e[0].Health.Status == component.Degraded && e[1].Health.Status == component.Unhealthy
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, "slow disk", h.Local()[0].Health.Detail)
	require.Contains(t, h.Local()[1].Health.Detail, "did not answer within 20ms")
	require.Equal(t, 2.0, metricValue(t, h, "packetflow_component_health", "db"), "degraded")
}

type blockingHealth struct {
	component.Component
	block chan struct{}
}

func (b *blockingHealth) Health(ctx context.Context) component.Health {
	select {
	case <-b.block:
	case <-ctx.Done():
	}
	return component.Health{Status: component.Healthy}
}

// metricValue is the value of the host's metric name for component id.
func metricValue(t *testing.T, h *component.Host, name, id string) float64 {
	t.Helper()
	families, err := h.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" && l.GetValue() == id {
					switch {
					case m.GetGauge() != nil:
						return m.GetGauge().GetValue()
					case m.GetCounter() != nil:
						return m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	t.Fatalf("no metric %s for %s", name, id)
	return 0
}

// counting is a component that counts its messages in a metric of its own.
type counting struct{ hits prometheus.Counter }

func (c *counting) Start(context.Context) error { return nil }
func (c *counting) Stop(context.Context) error  { return nil }
func (c *counting) Health(context.Context) component.Health {
	return component.Health{Status: component.Healthy}
}

func (c *counting) Init(ctx context.Context, env *component.Env) (err error) {
	c.hits, err = env.Metrics.Counter("hits", "Messages this component counted.")
	return err
}

func (c *counting) Receive(context.Context, proto.Message) (proto.Message, error) {
	c.hits.Inc()
	return nil, nil
}

// A component's own metrics are exported with the host's, one series per
// component, and a restarted instance gets the same series back.
func TestComponentsOwnMetrics(t *testing.T) {
	def := func(id string) component.Definition {
		return component.Definition{ID: id, Type: "counting", New: func() component.Component { return &counting{} }}
	}
	h := startHost(t, component.HostConfig{}, def("a"), def("b"))
	for _, id := range []string{"a", "a", "b"} {
		_, err := h.Request(ctx(t), component.Address{Component: id}, wrapperspb.String("x"))
		require.NoError(t, err)
	}
	require.NoError(t, h.RestartComponent(ctx(t), "a"))
	_, err := h.Request(ctx(t), component.Address{Component: "a"}, wrapperspb.String("x"))
	require.NoError(t, err)
	require.Equal(t, 3.0, metricValue(t, h, "packetflow_component_hits", "a"), "the restarted instance counts on")
	require.Equal(t, 1.0, metricValue(t, h, "packetflow_component_hits", "b"))
}
