package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/stream/sensorpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/stream"
)

// Threshold is the average temperature over a window above which a sensor
// raises an alert.
const Threshold = 80.0

// Define registers the example's capabilities, intents and reactors on rt:
// "gateway" takes Reading intents (sensor:write) and offers them to inbox;
// "alarm" takes Alert intents (alert:raise) and counts them per sensor;
// GetAlerts (alert:read) reads an alarm.
func Define(rt *actor.Runtime, inbox *stream.Inbox[*sensorpb.Reading]) error {
	if err := rt.DefineSchema("sensor", []string{"write"}); err != nil {
		return err
	}
	if err := rt.DefineSchema("alert", []string{"raise", "read"}); err != nil {
		return err
	}
	types := rt.Types()
	_, err1 := intent.Register(types, intent.Spec[*sensorpb.Reading]{Kind: "gateway", Requires: []string{"sensor:write"}, IdentityField: "sensor"})
	_, err2 := intent.Register(types, intent.Spec[*sensorpb.Alert]{Kind: "alarm", Requires: []string{"alert:raise"}, IdentityField: "sensor"})
	_, err3 := intent.Register(types, intent.Spec[*sensorpb.GetAlerts]{Kind: "alarm", Requires: []string{"alert:read"}, IdentityField: "sensor", Idempotent: true})
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return err
		}
	}

	// The gateway is where readings enter the stream. A handler must not
	// block: TryOffer, with the inbox's overflow strategy deciding what a
	// full inbox drops.
	gateway := actor.NewReactor[int64]("gateway", nil)
	actor.Handle(gateway, func(_ *actor.Call, n int64, r *sensorpb.Reading) (int64, *sensorpb.Accepted, error) {
		queued, err := inbox.TryOffer(r)
		if err != nil {
			return n, nil, err
		}
		return n + 1, &sensorpb.Accepted{Queued: queued}, nil
	})

	alarm := actor.NewReactor[*sensorpb.Alerts]("alarm", func(id string) *sensorpb.Alerts { return &sensorpb.Alerts{Sensor: id} })
	actor.Handle(alarm, func(_ *actor.Call, s *sensorpb.Alerts, a *sensorpb.Alert) (*sensorpb.Alerts, *sensorpb.Alerts, error) {
		next := &sensorpb.Alerts{Sensor: s.Sensor, Count: s.Count + 1, MaxAverageCelsius: max(s.MaxAverageCelsius, a.AverageCelsius)}
		return next, next, nil
	})
	actor.Handle(alarm, func(_ *actor.Call, s *sensorpb.Alerts, _ *sensorpb.GetAlerts) (*sensorpb.Alerts, *sensorpb.Alerts, error) {
		return s, s, nil
	})
	return rt.Register(gateway, alarm)
}

// Average is a sensor's mean temperature over one window.
type Average = stream.WindowResult[string, float64]

// Monitor is the pipeline: readings from the gateway's inbox, keyed by
// sensor, averaged over sliding 10 s windows every 5 s in event time
// (readings may arrive up to 2 s out of order), and every average over
// Threshold delivered as an Alert intent on behalf of caller — through the
// alarm's capability check. seen, if not nil, sees every average.
func Monitor(rt *actor.Runtime, caller *intent.Context, inbox *stream.Inbox[*sensorpb.Reading], seen func(Average)) stream.Graph {
	bySensor := stream.KeyBy(func(r *sensorpb.Reading) string { return r.Sensor })
	average := stream.Window(stream.Sliding(10*time.Second, 5*time.Second),
		stream.WindowOptions[string, *sensorpb.Reading]{
			EventTime:     func(r *sensorpb.Reading) time.Time { return time.UnixMilli(r.AtUnixMs) },
			MaxOutOfOrder: 2 * time.Second,
		},
		func(_ string, _ stream.Bounds, rs []*sensorpb.Reading) float64 {
			sum := 0.0
			for _, r := range rs {
				sum += r.Celsius
			}
			return sum / float64(len(rs))
		})
	observe := stream.Map(func(a Average) Average {
		if seen != nil {
			seen(a)
		}
		return a
	})
	hot := stream.Filter(func(a Average) bool { return a.Value > Threshold })
	raise := stream.ToReactor(rt, caller, func(a Average) (proto.Message, error) {
		return &sensorpb.Alert{Sensor: a.Key, AverageCelsius: a.Value,
			WindowStartUnixMs: a.Window.Start.UnixMilli(), WindowEndUnixMs: a.Window.End.UnixMilli()}, nil
	})
	averages := stream.Via(stream.Via(stream.FromInbox(inbox), bySensor), average)
	return averages.Via(observe).Via(hot).To(raise)
}

// Readings are the example's input: three sensors, one reading a second
// for a minute from start; the boiler heats past the threshold half-way.
func Readings(start time.Time) []*sensorpb.Reading {
	var rs []*sensorpb.Reading
	for s := 0; s < 60; s++ {
		at := start.Add(time.Duration(s) * time.Second).UnixMilli()
		boiler := 60.0 + float64(s)
		rs = append(rs,
			&sensorpb.Reading{Sensor: "boiler", Celsius: boiler, AtUnixMs: at},
			&sensorpb.Reading{Sensor: "kitchen", Celsius: 21 + float64(s%3), AtUnixMs: at},
			&sensorpb.Reading{Sensor: "cellar", Celsius: 12, AtUnixMs: at},
		)
	}
	return rs
}

// Result is what a run of the example saw.
type Result struct {
	Averages int
	Alerts   map[string]int64
	Denied   error // a reading sent without sensor:write
}

// Run runs the example on a new runtime: a device sends the readings as
// intents to the gateway, the pipeline raises alerts, then the alarms are
// read back. out receives a line per step.
func Run(ctx context.Context, out func(string)) (*Result, error) {
	rt, err := actor.NewRuntime(actor.Config{Name: "stream-example"})
	if err != nil {
		return nil, err
	}
	defer rt.Stop()
	inbox, err := stream.NewInbox[*sensorpb.Reading](1024, stream.OverflowDropOldest)
	if err != nil {
		return nil, err
	}
	if err := Define(rt, inbox); err != nil {
		return nil, err
	}
	device, err := rt.NewContext("device-7", "sensor:write")
	if err != nil {
		return nil, err
	}
	monitor, err := rt.NewContext("stream-monitor", "alert:raise")
	if err != nil {
		return nil, err
	}
	operator, err := rt.NewContext("operator", "alert:read")
	if err != nil {
		return nil, err
	}

	res := &Result{Alerts: map[string]int64{}}
	averages := make(chan Average, 1024)
	p, err := Monitor(rt, monitor, inbox, func(a Average) { averages <- a }).Run(ctx, rt.System())
	if err != nil {
		return nil, err
	}
	readings := Readings(time.Unix(1_700_000_000, 0))
	for _, r := range readings {
		if _, err := rt.Request(ctx, device, r); err != nil {
			p.Cancel()
			return nil, fmt.Errorf("reading %v: %w", r, err)
		}
	}
	out(fmt.Sprintf("device-7 sent %d readings of 3 sensors as intents to the gateway", len(readings)))
	_, res.Denied = rt.Request(ctx, operator, &sensorpb.Reading{Sensor: "boiler", Celsius: 999})
	out(fmt.Sprintf("operator sends a reading -> %v", res.Denied))
	inbox.Close() // end of input: the last windows fire
	if err := p.Wait(ctx); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	close(averages)
	for a := range averages {
		res.Averages++
		if a.Key == "boiler" && a.Value > Threshold {
			out(fmt.Sprintf("  %s [%s, %s) average %.1f °C over %d readings -> alert", a.Key,
				a.Window.Start.Format("15:04:05"), a.Window.End.Format("15:04:05"), a.Value, a.Count))
		}
	}
	for _, s := range []string{"boiler", "kitchen", "cellar"} {
		reply, err := rt.Request(ctx, operator, &sensorpb.GetAlerts{Sensor: s})
		if err != nil {
			return nil, err
		}
		alerts := reply.(*sensorpb.Alerts)
		res.Alerts[s] = alerts.Count
		out(fmt.Sprintf("alarm %-7s: %d alerts, highest average %.1f °C", s, alerts.Count, alerts.MaxAverageCelsius))
	}
	st := p.Stats()
	out(fmt.Sprintf("pipeline: %d averages, stages %v", res.Averages, stageNames(st)))
	return res, nil
}

func stageNames(st []stream.StageStats) []string {
	names := make([]string, len(st))
	for i, s := range st {
		names[i] = fmt.Sprintf("%s(in %d out %d)", s.Stage, s.In, s.Out)
	}
	return names
}
