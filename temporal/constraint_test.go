package temporal_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/temporal"
)

func TestConstraintAllows(t *testing.T) {
	london := "Europe/London"
	cases := []struct {
		constraint string
		at         string // RFC 3339
		skew       time.Duration
		want       bool
	}{
		{"business-hours " + london, "2025-06-02T09:00:00+01:00", 0, true}, // Monday, BST
		{"business-hours " + london, "2025-06-02T08:59:59+01:00", 0, false},
		{"business-hours " + london, "2025-06-02T08:59:59+01:00", time.Second, true},
		{"business-hours " + london, "2025-06-02T17:00:00+01:00", 0, false},
		{"business-hours " + london, "2025-06-02T16:59:59+01:00", 0, true},
		{"business-hours " + london, "2025-06-02T17:00:30+01:00", time.Minute, true},
		{"business-hours " + london, "2025-06-07T12:00:00+01:00", 0, false}, // Saturday
		{"business-hours " + london, "2025-01-06T09:30:00Z", 0, true},       // GMT in winter
		{"business-hours 08:30-18:00 " + london, "2025-06-02T08:45:00+01:00", 0, true},
		{"business-hours 08:30-18:00 " + london, "2025-06-02T18:00:00+01:00", 0, false},
		{"business-hours 09:00-17:00 Asia/Kathmandu", "2025-06-02T03:15:00Z", 0, true}, // 09:00 +05:45
		{"business-hours 09:00-17:00 Asia/Kathmandu", "2025-06-02T03:14:00Z", 0, false},
		{"business-hours", "2025-06-02T09:00:00Z", 0, true},          // UTC
		{"weekdays " + london, "2025-06-06T23:59:00+01:00", 0, true}, // Friday night
		{"weekdays " + london, "2025-06-07T00:00:00+01:00", 0, false},
		{"weekdays " + london, "2025-06-08T23:59:30+01:00", time.Minute, true}, // Sunday, within skew of Monday
		{"weekdays Australia/Sydney", "2025-06-06T15:00:00Z", 0, false},        // Saturday 01:00 in Sydney
		{"not-before 2025-06-02T00:00:00Z", "2025-06-01T23:59:59Z", 0, false},
		{"not-before 2025-06-02T00:00:00Z", "2025-06-01T23:59:59Z", 2 * time.Second, true},
		{"not-after 2025-06-02T00:00:00Z", "2025-06-02T00:00:00Z", 0, false},
		{"not-after 2025-06-02T00:00:00Z", "2025-06-01T23:59:59Z", 0, true},
		{"weekdays; not-after 2025-06-02T00:00:00Z", "2025-05-30T12:00:00Z", 0, true},
		{"weekdays; not-after 2025-06-02T00:00:00Z", "2025-06-02T12:00:00Z", 0, false},
	}
	for _, tc := range cases {
		c, err := temporal.ParseConstraint(tc.constraint)
		require.NoError(t, err, tc.constraint)
		require.Equal(t, tc.want, c.Allows(mustTime(t, tc.at), tc.skew), "%s at %s ±%v", tc.constraint, tc.at, tc.skew)
	}
}

func TestConstraintParseErrors(t *testing.T) {
	for _, s := range []string{"", ";", "during lunch", "weekends", "weekdays Mars/Base", "weekdays a b",
		"business-hours 17:00-09:00", "business-hours 9-17", "business-hours 09:00-25:00", "business-hours 09:60-10:00",
		"not-before", "not-before tomorrow", "not-after 2025-01-01", "weekdays;", "business-hours 09:00-17:00 UTC extra"} {
		_, err := temporal.ParseConstraint(s)
		require.ErrorIs(t, err, temporal.ErrInvalid, "%q", s)
	}
	c, err := temporal.ParseConstraint("  business-hours   08:00-12:30  UTC ;weekdays")
	require.NoError(t, err)
	require.Equal(t, "business-hours 08:00-12:30 UTC; weekdays", c.String())
}

// The policy's plugin enforces constraints on grants and on intent types,
// before the intent reaches a mailbox.
func TestPolicyPluginEnforcesConstraints(t *testing.T) {
	clock := temporal.NewFakeClock(mustTime(t, "2025-06-02T10:00:00+01:00")) // Monday, London
	rt, basic := newCounterRuntime(t, actor.Config{})
	admin, err := rt.NewContext("root", "user:admin")
	require.NoError(t, err)
	policy, err := temporal.NewPolicy(clock, 30*time.Second)
	require.NoError(t, err)
	require.NoError(t, policy.Grant("user:basic", "business-hours 09:00-17:00 Europe/London"))
	require.NoError(t, policy.Intent("packetflow.examples.counter.v1.Reset", "weekdays Europe/London"))
	require.ErrorIs(t, policy.Grant("user:basic", "lunchtime"), temporal.ErrInvalid, "an unknown constraint is a definition error")
	require.ErrorIs(t, policy.Intent("x", "whenever"), temporal.ErrInvalid)
	require.ErrorIs(t, policy.Grant("not a capability", "weekdays"), temporal.ErrInvalid)
	require.NoError(t, rt.Plugins().Register(policy.Plugin()))

	req := func(caller *intent.Context, m interface{ GetCounter() string }) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		switch m := m.(type) {
		case *counterpb.Increment:
			_, err = rt.Request(ctx, caller, m)
		case *counterpb.Reset:
			_, err = rt.Request(ctx, caller, m)
		}
		return err
	}
	require.NoError(t, req(basic, &counterpb.Increment{Counter: "c"}))

	clock.Set(mustTime(t, "2025-06-02T17:00:20+01:00")) // within the skew tolerance of 17:00
	require.NoError(t, req(basic, &counterpb.Increment{Counter: "c"}))

	clock.Set(mustTime(t, "2025-06-02T18:00:00+01:00"))
	err = req(basic, &counterpb.Increment{Counter: "c"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	require.ErrorIs(t, err, temporal.ErrOutsideWindow)
	var rejected *intent.RejectedError
	require.ErrorAs(t, err, &rejected)
	require.Equal(t, "temporal.constraints", rejected.Plugin)
	require.Contains(t, err.Error(), "business-hours 09:00-17:00 Europe/London")
	require.Contains(t, err.Error(), "user:basic")
	// user:admin implies user:basic and is not constrained.
	require.NoError(t, req(admin, &counterpb.Increment{Counter: "c"}))
	require.Equal(t, int64(3), count(t, rt, admin, "c"))

	// Reset only on weekdays, whoever asks.
	clock.Set(mustTime(t, "2025-06-07T12:00:00+01:00")) // Saturday
	err = req(admin, &counterpb.Reset{Counter: "c"})
	require.ErrorIs(t, err, temporal.ErrOutsideWindow)
	require.NotErrorIs(t, err, capability.ErrPermissionDenied)
	clock.Set(mustTime(t, "2025-06-09T00:00:10+01:00")) // Monday
	require.NoError(t, req(admin, &counterpb.Reset{Counter: "c"}))

	_, err = temporal.NewPolicy(clock, 2*time.Hour)
	require.ErrorIs(t, err, temporal.ErrInvalid)
}

// An intent whose deadline has passed is not handled and its caller gets a
// deadline error (the runtime's rule; checked here with a fake clock as
// the runtime's clock).
func TestExpiredIntentIsNotHandled(t *testing.T) {
	clock := temporal.NewFakeClock(time.Now())
	rt, basic := newCounterRuntime(t, actor.Config{Clock: clock.Now})
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(time.Minute))
	defer cancel()
	clock.Set(clock.Now().Add(2 * time.Minute)) // the node's clock is past the deadline
	_, err := rt.Request(ctx, basic, &counterpb.Increment{Counter: "late"})
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	clock.Set(clock.Now().Add(-2 * time.Minute))
	require.Zero(t, count(t, rt, basic, "late"))
	require.Equal(t, uint64(1), rt.Stats().Expired)
}
