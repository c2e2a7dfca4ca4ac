package stream

import "time"

// Clock is the time source of the time-driven stages (Ticker, After,
// Batch's time bound, Throttle, processing-time windows). Production uses
// SystemClock; tests use a ManualClock so that they never sleep.
//
// Implementations must be safe for concurrent use. AfterFunc's f runs on a
// goroutine of the clock's choosing and must not block: stages only send
// themselves a message from it.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call. Stop reports whether it prevented the
// call; *time.Timer implements it.
type Timer interface {
	Stop() bool
}

// SystemClock is the wall clock: time.Now and time.AfterFunc.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
