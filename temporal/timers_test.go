package temporal_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/temporal"
)

// timedReactor is a test reactor "timed" driven by commands: an Increment
// whose user_id is "after NAME DURATION", "every NAME DURATION",
// "cancel NAME", "hold" (wait for release) or "hold-cancel NAME" /
// "hold-replace NAME DURATION" (wait, then cancel or replace). Its ticks
// are Resets whose user_id names the timer; Get returns the ticks handled,
// comma-separated, in Value.counter.
type timedReactor struct {
	rt      *actor.Runtime
	timers  *temporal.Timers
	clock   *temporal.FakeClock
	onTick  func(c *actor.Call, name string) // set before the first tick
	caller  *intent.Context
	release chan struct{}
	holding chan struct{}
}

func newTimedReactor(t testing.TB) *timedReactor {
	clock := temporal.NewFakeClock(t0)
	return newTimedReactorOn(t, clock, clock)
}

// newTimedReactorOn runs the timers on timerClock (fake is the same clock
// when it is a FakeClock, for the tests that drive it).
func newTimedReactorOn(t testing.TB, timerClock temporal.Clock, fake *temporal.FakeClock) *timedReactor {
	rt, err := actor.NewRuntime(actor.Config{Logger: testLogger(t)})
	require.NoError(t, err)
	tr := &timedReactor{rt: rt, timers: temporal.NewTimers(rt, timerClock), clock: fake,
		release: make(chan struct{}, 10), holding: make(chan struct{}, 10)}
	require.NoError(t, rt.DefineSchema("user", []string{"basic"}))
	for _, err := range []error{
		register[*counterpb.Increment](rt), register[*counterpb.Reset](rt), register[*counterpb.Get](rt),
	} {
		require.NoError(t, err)
	}
	r := actor.NewReactor[[]string]("timed", nil)
	actor.Handle(r, func(c *actor.Call, ticks []string, in *counterpb.Increment) ([]string, *counterpb.Value, error) {
		f := strings.Fields(in.UserId)
		tick := &counterpb.Reset{Counter: c.Identity()}
		if len(f) > 1 {
			tick.UserId = f[1]
		}
		var err error
		switch f[0] {
		case "after", "every":
			d, perr := time.ParseDuration(f[2])
			if perr != nil {
				return ticks, nil, perr
			}
			if f[0] == "after" {
				err = tr.timers.After(c, f[1], d, tick)
			} else {
				err = tr.timers.Every(c, f[1], d, tick)
			}
		case "cancel":
			tr.timers.Cancel(c, f[1])
		case "hold", "hold-cancel", "hold-replace":
			tr.holding <- struct{}{}
			<-tr.release
			if f[0] == "hold-cancel" {
				tr.timers.Cancel(c, f[1])
			}
			if f[0] == "hold-replace" {
				d, _ := time.ParseDuration(f[2])
				err = tr.timers.After(c, f[1], d, tick)
			}
		case "bad":
			err = tr.timers.After(c, "x", time.Second, &counterpb.Reset{Counter: "someone-else"})
		case "many": // many N DURATION: N one-shot timers m0..mN-1
			n, _ := strconv.Atoi(f[1])
			d, _ := time.ParseDuration(f[2])
			for i := 0; i < n && err == nil; i++ {
				name := "m" + strconv.Itoa(i)
				err = tr.timers.After(c, name, d, &counterpb.Reset{Counter: c.Identity(), UserId: name})
			}
		case "noop":
		}
		return ticks, nil, err
	})
	actor.Handle(r, func(c *actor.Call, ticks []string, in *counterpb.Reset) ([]string, *counterpb.Value, error) {
		if tr.onTick != nil {
			tr.onTick(c, in.UserId)
			return ticks, nil, nil
		}
		return append(ticks, in.UserId), nil, nil
	})
	actor.Handle(r, func(_ *actor.Call, ticks []string, _ *counterpb.Get) ([]string, *counterpb.Value, error) {
		return ticks, &counterpb.Value{Counter: strings.Join(ticks, ","), Count: int64(len(ticks))}, nil
	})
	require.NoError(t, rt.Register(r))
	tr.caller, err = rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	return tr
}

func register[M any](rt *actor.Runtime) error {
	var zero M
	_ = zero
	switch any(zero).(type) {
	case *counterpb.Increment:
		_, err := intent.Register(rt.Types(), intent.Spec[*counterpb.Increment]{Kind: "timed", Requires: []string{"user:basic"}, IdentityField: "counter"})
		return err
	case *counterpb.Reset:
		_, err := intent.Register(rt.Types(), intent.Spec[*counterpb.Reset]{Kind: "timed", Requires: []string{"user:basic"}, IdentityField: "counter"})
		return err
	default:
		_, err := intent.Register(rt.Types(), intent.Spec[*counterpb.Get]{Kind: "timed", Requires: []string{"user:basic"}, IdentityField: "counter"})
		return err
	}
}

func (tr *timedReactor) do(t testing.TB, id, cmd string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tr.rt.Request(ctx, tr.caller, &counterpb.Increment{Counter: id, UserId: cmd})
	return err
}

func (tr *timedReactor) send(t *testing.T, id, cmd string) {
	t.Helper()
	require.NoError(t, tr.rt.Send(context.Background(), tr.caller, &counterpb.Increment{Counter: id, UserId: cmd}))
}

func (tr *timedReactor) ticks(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := tr.rt.Request(ctx, tr.caller, &counterpb.Get{Counter: id})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Counter
}

func TestReactorTimersOneShotAndPeriodic(t *testing.T) {
	tr := newTimedReactor(t)
	require.NoError(t, tr.do(t, "r", "after once 5s"))
	require.NoError(t, tr.do(t, "r", "every tick 10s"))
	require.Equal(t, 2, tr.timers.Armed())
	tr.clock.Advance(5 * time.Second)
	require.Equal(t, "once", tr.ticks(t, "r"))
	tr.clock.Advance(10 * time.Second)
	require.Equal(t, "once,tick", tr.ticks(t, "r"), "ticks at 10s; 20s is still 5s away")
	tr.clock.Advance(5 * time.Second)
	require.Equal(t, "once,tick,tick", tr.ticks(t, "r"))
	require.Equal(t, 1, tr.timers.Armed(), "the one-shot timer is gone after its tick")
	require.NoError(t, tr.do(t, "r", "cancel tick"))
	tr.clock.Advance(time.Minute)
	require.Equal(t, "once,tick,tick", tr.ticks(t, "r"))
	require.Zero(t, tr.timers.Armed())
	require.Zero(t, tr.clock.Pending())
}

// A tick already queued when its timer is cancelled or replaced is never
// handled.
func TestReactorTimersNeverDeliverStaleTicks(t *testing.T) {
	tr := newTimedReactor(t)
	require.NoError(t, tr.do(t, "r", "after t 5s"))
	require.NoError(t, tr.do(t, "r", "every p 5s"))
	tr.send(t, "r", "hold-cancel t")
	<-tr.holding
	tr.clock.Advance(5 * time.Second) // both ticks are queued behind the held handler
	tr.release <- struct{}{}          // which then cancels t
	require.Equal(t, "p", tr.ticks(t, "r"))

	tr.send(t, "r", "hold-replace p 7s")
	<-tr.holding
	tr.clock.Advance(5 * time.Second) // p's tick is queued, then p is replaced
	tr.release <- struct{}{}
	require.Equal(t, "p", tr.ticks(t, "r"), "the queued tick of the replaced timer is dropped")
	tr.clock.Advance(7 * time.Second)
	require.Equal(t, "p,p", tr.ticks(t, "r"), "the replacement fires once")
	tr.clock.Advance(time.Minute)
	require.Equal(t, "p,p", tr.ticks(t, "r"))
}

// Timers die with their activation.
func TestReactorTimersDieWithTheirActivation(t *testing.T) {
	tr := newTimedReactor(t)
	for i := range 10 {
		require.NoError(t, tr.do(t, fmt.Sprint("r", i), "every p 1s"))
	}
	require.Equal(t, 10, tr.timers.Armed())
	require.Equal(t, 10, tr.clock.Pending())
	require.NoError(t, tr.rt.Stop())
	require.Zero(t, tr.timers.Armed())
	require.Zero(t, tr.clock.Pending())
}

func TestReactorTimerIntentMustAddressItsReactor(t *testing.T) {
	tr := newTimedReactor(t)
	err := tr.do(t, "r", "bad")
	require.ErrorIs(t, err, intent.ErrFailed)
	require.Contains(t, err.Error(), "timed/someone-else")
	err = tr.do(t, "r", "every p 0s")
	require.ErrorIs(t, err, temporal.ErrInvalid)
	require.Zero(t, tr.timers.Armed())
}
