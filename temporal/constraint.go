package temporal

import (
	"fmt"
	"strings"
	"time"
)

// Constraint is a time constraint: a conjunction of clauses, each
// allowing some instants. Its text form is clauses separated by ";":
//
//	not-before 2025-01-01T00:00:00Z       from this instant on (RFC 3339)
//	not-after 2025-12-31T00:00:00Z        before this instant
//	weekdays [ZONE]                       Monday to Friday in ZONE (default UTC)
//	business-hours [HH:MM-HH:MM] [ZONE]   weekdays, between the two wall
//	                                      times (default 09:00-17:00) in ZONE
//
// for example "business-hours 08:30-18:00 Europe/London; not-after
// 2026-01-01T00:00:00Z". An unknown clause is an error: a constraint is
// never silently true. A Constraint is immutable and safe for concurrent
// use.
type Constraint struct {
	text    string
	clauses []clause
}

// clause is one condition of a Constraint.
type clause interface {
	// allowedIn reports whether some instant in [lo, hi] is allowed.
	allowedIn(lo, hi time.Time) bool
}

// maxConstraintLen bounds a constraint's text.
const maxConstraintLen = 1024

// ParseConstraint reads a constraint; errors match ErrInvalid and name
// the clause.
func ParseConstraint(text string) (*Constraint, error) {
	if len(text) > maxConstraintLen {
		return nil, fmt.Errorf("%w: constraint longer than %d bytes", ErrInvalid, maxConstraintLen)
	}
	c := &Constraint{}
	var canon []string
	for part := range strings.SplitSeq(text, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			return nil, fmt.Errorf("%w: constraint %q: empty clause", ErrInvalid, text)
		}
		cl, err := parseClause(f)
		if err != nil {
			return nil, fmt.Errorf("%w: constraint clause %q: %s", ErrInvalid, strings.TrimSpace(part), err)
		}
		c.clauses = append(c.clauses, cl)
		canon = append(canon, strings.Join(f, " "))
	}
	c.text = strings.Join(canon, "; ")
	return c, nil
}

func parseClause(f []string) (clause, error) {
	switch f[0] {
	case "not-before", "not-after":
		if len(f) != 2 {
			return nil, fmt.Errorf("want %s <RFC 3339 time>", f[0])
		}
		t, err := time.Parse(time.RFC3339, f[1])
		if err != nil {
			return nil, fmt.Errorf("not an RFC 3339 time (such as 2025-01-01T00:00:00Z)")
		}
		if f[0] == "not-before" {
			return notBefore(t), nil
		}
		return notAfter(t), nil
	case "weekdays":
		if len(f) > 2 {
			return nil, fmt.Errorf("want weekdays [ZONE]")
		}
		loc, err := zoneArg(f[1:])
		if err != nil {
			return nil, err
		}
		return hours{loc: loc, open: 0, close: 24 * 60}, nil
	case "business-hours":
		h := hours{open: 9 * 60, close: 17 * 60}
		rest := f[1:]
		if len(rest) > 0 && strings.Contains(rest[0], ":") && strings.Contains(rest[0], "-") {
			var err error
			if h.open, h.close, err = parseHours(rest[0]); err != nil {
				return nil, err
			}
			rest = rest[1:]
		}
		if len(rest) > 1 {
			return nil, fmt.Errorf("want business-hours [HH:MM-HH:MM] [ZONE]")
		}
		var err error
		if h.loc, err = zoneArg(rest); err != nil {
			return nil, err
		}
		return h, nil
	}
	return nil, fmt.Errorf("unknown constraint %q (use not-before, not-after, weekdays or business-hours)", f[0])
}

func zoneArg(f []string) (*time.Location, error) {
	if len(f) == 0 {
		return time.UTC, nil
	}
	return LoadZone(f[0])
}

// parseHours reads "HH:MM-HH:MM" as minutes of the day; the end may be
// 24:00 and must be after the start.
func parseHours(s string) (open, close int, err error) {
	a, b, _ := strings.Cut(s, "-")
	if open, err = parseClock(a); err == nil {
		close, err = parseClock(b)
	}
	if err == nil && close <= open {
		err = fmt.Errorf("hours %q end before they start", s)
	}
	return open, close, err
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 || !isDigits(h) || !isDigits(m) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, mm := int(h[0]-'0')*10+int(h[1]-'0'), int(m[0]-'0')*10+int(m[1]-'0')
	if mm > 59 || hh > 24 || hh == 24 && mm > 0 {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}

// String is the constraint's canonical text.
func (c *Constraint) String() string { return c.text }

// Allows reports whether the constraint holds at now, give or take skew:
// each clause must allow some instant within skew of now, so that members
// whose clocks differ by up to skew agree at the edges.
func (c *Constraint) Allows(now time.Time, skew time.Duration) bool {
	lo, hi := now.Add(-max(skew, 0)), now.Add(max(skew, 0))
	for _, cl := range c.clauses {
		if !cl.allowedIn(lo, hi) {
			return false
		}
	}
	return true
}

type notBefore time.Time

func (nb notBefore) allowedIn(_, hi time.Time) bool { return !hi.Before(time.Time(nb)) }

type notAfter time.Time

func (na notAfter) allowedIn(lo, _ time.Time) bool { return lo.Before(time.Time(na)) }

// hours allows Monday to Friday between open and close (minutes of the
// wall-clock day) in loc.
type hours struct {
	loc         *time.Location
	open, close int
}

func (h hours) allowedAt(t time.Time) bool {
	l := t.In(h.loc)
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	m := l.Hour()*60 + l.Minute()
	return m >= h.open && m < h.close
}

func (h hours) allowedIn(lo, hi time.Time) bool {
	if h.allowedAt(lo) {
		return true
	}
	// The next opening after lo, within a week.
	l := lo.In(h.loc)
	for d := range 8 {
		open := time.Date(l.Year(), l.Month(), l.Day()+d, h.open/60, h.open%60, 0, 0, h.loc)
		if open.After(lo) && h.allowedAt(open) {
			return !open.After(hi)
		}
	}
	return false
}
