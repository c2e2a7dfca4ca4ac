package capability

import (
	"math"
	"time"
)

// Validity windows are compiled to Unix nanoseconds so a check reads the
// clock once (now.UnixNano) and compares integers. Unix nanoseconds cover
// the years 1678 to 2262; times outside are clamped so that the check fails
// closed: an unbounded end stays wider than any bounded one, and a "now"
// beyond the range is outside every bounded window on that side.
const (
	minNanos = math.MinInt64 // unbounded NotBefore
	maxNanos = math.MaxInt64 // unbounded NotAfter

	// Seconds whose nanoseconds are sure to fit in an int64.
	minSafeSeconds = math.MinInt64/int64(time.Second) + 1
	maxSafeSeconds = math.MaxInt64/int64(time.Second) - 1
)

// boundNanos compiles a window bound; the zero time is unbounded.
func boundNanos(t time.Time, unbounded int64) int64 {
	switch {
	case t.IsZero():
		return unbounded
	case t.Unix() < minSafeSeconds:
		return minNanos + 1
	case t.Unix() > maxSafeSeconds:
		return maxNanos - 1
	}
	return t.UnixNano()
}

// nowNanos compiles the time of a check.
func nowNanos(now time.Time) int64 {
	s := now.Unix()
	switch {
	case s < minSafeSeconds:
		return minNanos
	case s > maxSafeSeconds:
		return maxNanos - 1
	}
	return now.UnixNano()
}
