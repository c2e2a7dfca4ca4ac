package temporal

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Calendar says when something recurs: a cron expression in a time zone
// (*Cron) or a fixed interval (Interval). Implementations are immutable and
// safe for concurrent use.
type Calendar interface {
	// Next returns the first instant strictly after after at which the
	// calendar fires, or the zero time when it never fires again (or after
	// is outside the range it can compute). Next never returns an instant
	// at or before after.
	Next(after time.Time) time.Time
	// String is the calendar in the text form ParseCalendar reads.
	String() string
}

// ParseCalendar reads a calendar: "@every D" (D as time.ParseDuration
// reads it, at least 1ms) is an Interval anchored at the Unix epoch; any
// other text is a cron expression evaluated in zone, an IANA name such as
// "Europe/London" ("" and "UTC" mean UTC). See the package documentation
// for the cron syntax and its rules around daylight saving time.
func ParseCalendar(expr, zone string) (Calendar, error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(expr), "@every"); ok {
		return parseEvery(rest)
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return nil, err
	}
	return ParseCron(expr, loc)
}

// LoadZone loads the IANA time zone name ("" means UTC). The error names
// the zone.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if len(name) > 128 {
		return nil, fmt.Errorf("%w: time zone name of %d bytes", ErrInvalid, len(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: time zone %q: %v", ErrInvalid, name, err)
	}
	return loc, nil
}

// MinInterval is the shortest interval "@every" accepts.
const MinInterval = time.Millisecond

func parseEvery(rest string) (Interval, error) {
	arg := strings.TrimSpace(rest)
	if arg == "" || rest == arg { // "@every" alone, or "@everyday"
		return Interval{}, &CronError{Field: "@every", Value: strings.TrimSpace("@every" + rest), Reason: "expected \"@every <duration>\", such as \"@every 1h30m\""}
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return Interval{}, &CronError{Field: "@every", Value: arg, Reason: "not a duration (such as 90s or 1h30m)"}
	}
	if d < MinInterval {
		return Interval{}, &CronError{Field: "@every", Value: arg, Reason: fmt.Sprintf("interval must be at least %v", MinInterval)}
	}
	return Interval{Every: d}, nil
}

// Interval fires every Every, at Anchor + k·Every for every integer k: a
// fixed period of elapsed time, which daylight saving time does not bend.
// A zero Anchor means the Unix epoch, so "@every 1h" fires on the hour in
// UTC. Every must be positive.
type Interval struct {
	Every  time.Duration
	Anchor time.Time
}

var _ Calendar = Interval{}

func (iv Interval) anchor() time.Time {
	if iv.Anchor.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return iv.Anchor
}

// Next returns the first slot after after; the zero time when Every is
// not positive or after is more than about 290 years from Anchor.
func (iv Interval) Next(after time.Time) time.Time {
	k, ok := iv.index(after)
	if !ok || k == math.MaxInt64 || k+1 > math.MaxInt64/int64(iv.Every) || k+1 < math.MinInt64/int64(iv.Every) {
		return time.Time{}
	}
	return iv.anchor().Add(time.Duration(k+1) * iv.Every)
}

// index returns k such that slot k is at or before t and slot k+1 after
// it; false when it cannot be computed.
func (iv Interval) index(t time.Time) (int64, bool) {
	if iv.Every <= 0 {
		return 0, false
	}
	d := t.Sub(iv.anchor())
	if d == math.MaxInt64 || d == math.MinInt64 { // saturated: out of range
		return 0, false
	}
	k := int64(d / iv.Every)
	if d < 0 && d%iv.Every != 0 {
		k--
	}
	return k, true
}

// count returns the number of slots in (from, to]; false when it cannot
// be computed.
func (iv Interval) count(from, to time.Time) (int64, bool) {
	a, ok1 := iv.index(from)
	b, ok2 := iv.index(to)
	if !ok1 || !ok2 {
		return 0, false
	}
	return max(b-a, 0), true
}

// String returns "@every D".
func (iv Interval) String() string { return "@every " + iv.Every.String() }
