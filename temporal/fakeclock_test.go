package temporal_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/temporal"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestFakeClockAdvanceFiresInDeadlineOrder(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	var order []string
	c.AfterFunc(3*time.Second, func() { order = append(order, "3s@"+c.Now().Sub(epoch).String()) })
	c.AfterFunc(time.Second, func() { order = append(order, "1s@"+c.Now().Sub(epoch).String()) })
	tm := c.NewTimer(2 * time.Second)
	require.Equal(t, 3, c.Pending())
	c.Advance(time.Second)
	require.Equal(t, []string{"1s@1s"}, order)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(5 * time.Second)
	require.Equal(t, []string{"1s@1s", "3s@3s"}, order)
	require.Equal(t, epoch.Add(2*time.Second), <-tm.C())
	require.Equal(t, epoch.Add(6*time.Second), c.Now())
	require.Zero(t, c.Pending())
}

func TestFakeClockStopAndReset(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	var fired atomic.Int32
	tm := c.AfterFunc(time.Second, func() { fired.Add(1) })
	require.True(t, tm.Stop())
	require.False(t, tm.Stop())
	c.Advance(time.Hour)
	require.Zero(t, fired.Load())
	require.False(t, tm.Reset(time.Second))
	require.True(t, tm.Reset(2*time.Second))
	c.Advance(time.Second)
	require.Zero(t, fired.Load())
	c.Advance(time.Second)
	require.Equal(t, int32(1), fired.Load())
}

func TestFakeClockTickerDropsTicksASlowReaderMisses(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	tk := c.NewTicker(time.Second)
	defer tk.Stop()
	c.Advance(5 * time.Second) // five ticks, buffer of one: the first stays
	require.Equal(t, epoch.Add(time.Second), <-tk.C())
	select {
	case <-tk.C():
		t.Fatal("a dropped tick was delivered")
	default:
	}
	tk.Reset(10 * time.Second)
	c.Advance(9 * time.Second)
	require.Empty(t, tk.C())
	c.Advance(time.Second)
	require.Equal(t, epoch.Add(15*time.Second), <-tk.C())
	require.Panics(t, func() { c.NewTicker(0) })
}

// A step of the wall clock moves Now but not timers, as on a real machine.
func TestFakeClockSetStepsWallClockOnly(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	tm := c.NewTimer(time.Minute)
	c.Set(epoch.Add(-time.Hour))
	require.Equal(t, epoch.Add(-time.Hour), c.Now())
	d, ok := c.Next()
	require.True(t, ok)
	require.Equal(t, time.Minute, d)
	c.Set(epoch.Add(24 * time.Hour))
	require.Empty(t, tm.C())
	c.Advance(time.Minute)
	require.Equal(t, epoch.Add(24*time.Hour+time.Minute), <-tm.C())
}

func TestFakeClockZeroDelay(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	tm := c.NewTimer(0)
	require.Equal(t, epoch, <-tm.C())
	done := make(chan struct{})
	c.AfterFunc(-time.Second, func() { close(done) })
	<-done
	require.Zero(t, c.Pending())
}

func TestFakeClockWaitPending(t *testing.T) {
	c := temporal.NewFakeClock(epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go c.AfterFunc(time.Second, func() {})
	require.NoError(t, c.WaitPending(ctx, 1))
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	require.ErrorIs(t, c.WaitPending(short, 2), context.Canceled)
}

func TestRealClockIsTime(t *testing.T) {
	var c temporal.Clock = temporal.RealClock{}
	before := time.Now()
	require.False(t, c.Now().Before(before))
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Reset(time.Millisecond)
	<-tk.C()
	tk.Stop()
	done := make(chan struct{})
	f := c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	require.False(t, f.Stop())
	require.False(t, f.Reset(time.Hour))
	require.True(t, f.Stop())
}
