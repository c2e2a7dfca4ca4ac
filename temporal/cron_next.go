package temporal

import "time"

// searchYears bounds how far Next looks for a matching day: a full
// Gregorian cycle, so every expression ParseCron accepts is found.
const searchYears = 400

// maxYear bounds the years Next computes in, far beyond any real use.
const maxYear = 1_000_000

// Next returns the first instant after after at which c fires, in c's
// zone; the zero time if there is none within 400 years. The rules for
// days and for wall times that daylight saving time skips or repeats are
// in the package documentation.
func (c *Cron) Next(after time.Time) time.Time {
	if y := after.Year(); y < -maxYear || y > maxYear {
		return time.Time{}
	}
	a := after.In(c.loc)
	floor := after.Unix() // candidates are whole seconds: t > after ⟺ t > floor
	cursor := wallSeconds(a) + 1
	limit := a.Year() + searchYears
	for {
		w, ok := c.nextWall(cursor, limit)
		if !ok {
			return time.Time{}
		}
		t := resolveWall(w, c.loc)
		if t > floor {
			return time.Unix(t, 0).In(c.loc)
		}
		// after is in the repeated hour of a fall-back and w's first
		// occurrence has passed: skip to the end of the repeated range.
		cursor = max(w+1, repeatedRangeEnd(a))
	}
}

// wallSeconds is t's wall-clock reading in its zone, as seconds since
// 1970-01-01 00:00:00 of that reading (as if it were UTC).
func wallSeconds(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// repeatedRangeEnd is, for an instant a just after a backward transition,
// the wall time at which the repeated range ends; 0 otherwise.
func repeatedRangeEnd(a time.Time) int64 {
	start, _ := a.ZoneBounds()
	if start.IsZero() {
		return 0
	}
	_, before := start.Add(-time.Nanosecond).Zone()
	return start.Unix() + int64(before)
}

// nextWall returns the first wall time (in wallSeconds form) at or after
// from that matches every field, searching up to the end of year limit.
func (c *Cron) nextWall(from int64, limit int) (int64, bool) {
	t := time.Unix(from, 0).UTC()
	y, mo, d := t.Year(), int(t.Month()), t.Day()
	h, mi, s := t.Hour(), t.Minute(), t.Second()
	for y <= limit {
		switch {
		case mo > 12:
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			continue
		case c.month&(1<<mo) == 0:
			mo, d, h, mi, s = mo+1, 1, 0, 0, 0
			continue
		case d > daysIn(y, mo):
			mo, d, h, mi, s = mo+1, 1, 0, 0, 0
			continue
		case h > 23 || !c.dayMatches(y, mo, d):
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		nh := nextBit(c.hour, h)
		if nh < 0 {
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nm := nextBit(c.minute, mi)
		if nm < 0 {
			h, mi, s = h+1, 0, 0
			continue
		}
		if nm != mi {
			mi, s = nm, 0
		}
		ns := nextBit(c.second, s)
		if ns < 0 {
			mi, s = mi+1, 0
			continue
		}
		return time.Date(y, time.Month(mo), d, h, mi, ns, 0, time.UTC).Unix(), true
	}
	return 0, false
}

// daysIn returns the number of days of month m of year y.
func daysIn(y, m int) int {
	if m == 2 {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return daysInMonthMax[m]
}

// offsetSpan bounds the UTC offsets of every zone, past and present, with
// a margin: an instant with wall time w lies in [w-offsetSpan, w+offsetSpan].
const offsetSpan = 16 * 3600

// resolveWall maps a wall time w (wallSeconds form) in loc to the instant
// that fires for it, in Unix seconds:
//
//   - a wall time that occurs once maps to that instant;
//   - one that occurs twice (a backward transition) maps to its first
//     occurrence;
//   - one that does not occur (a forward transition skips it) maps to the
//     transition itself, the first instant after it.
func resolveWall(w int64, loc *time.Location) int64 {
	p := time.Unix(w-offsetSpan, 0).In(loc)
	for range 16 { // a handful of zone periods span 32 hours
		_, off := p.Zone()
		start, end := p.ZoneBounds()
		t := w - int64(off)
		if (start.IsZero() || t >= start.Unix()) && (end.IsZero() || t < end.Unix()) {
			return t // periods are visited in order: the first fit is the first occurrence
		}
		if end.IsZero() {
			return t
		}
		next := end.In(loc)
		if _, nextOff := next.Zone(); t >= end.Unix() && w-int64(nextOff) < end.Unix() {
			return end.Unix() // w falls in the gap this transition opens
		}
		p = next
	}
	return w - int64(zoneOffset(p))
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}
