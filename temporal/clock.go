package temporal

import "time"

// Clock is where temporal reads the time and sets its timers. Nothing in
// this package calls time.Now or sleeps: a schedule, a reactor timer, a
// reminder service and a constraint check all take a Clock, so every rule
// is tested with a FakeClock.
//
// A Clock has two notions of time, as Go's own has: Now is the wall clock,
// which an operator or NTP may step forwards or backwards; timers and
// tickers count elapsed (monotonic) time and are not moved by such a step.
// Code that wants a wall-clock instant (a cron slot) arms a timer for the
// difference and checks Now again when it fires.
//
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current wall-clock time.
	Now() time.Time
	// NewTimer returns a timer that sends the wall-clock time on its
	// channel once d has elapsed.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that sends the time on its channel every
	// d, dropping ticks a slow reader misses. d must be positive.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f once d has elapsed. The real clock calls it on a
	// goroutine of its own; FakeClock calls it from Advance. f must not
	// block. The returned timer's channel is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer of a Clock; see time.Timer.
type Timer interface {
	// C is the channel the timer sends on (nil for AfterFunc timers).
	C() <-chan time.Time
	// Stop prevents the timer from firing; false means it already fired
	// or was stopped.
	Stop() bool
	// Reset makes the timer fire after d; false means it had already
	// fired or been stopped.
	Reset(d time.Duration) bool
}

// Ticker is a periodic timer of a Clock; see time.Ticker.
type Ticker interface {
	// C is the channel the ticker sends on.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
	// Reset changes the period to d (positive) and restarts it.
	Reset(d time.Duration)
}

// RealClock is the Clock of the machine: package time's.
type RealClock struct{}

var _ Clock = RealClock{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker returns a time.Ticker.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// AfterFunc returns time.AfterFunc(d, f).
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Stop()                 { r.t.Stop() }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }

// orReal returns c, or the real clock when c is nil: the zero meaning of
// every Clock field in this package.
func orReal(c Clock) Clock {
	if c == nil {
		return RealClock{}
	}
	return c
}
