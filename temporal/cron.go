package temporal

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed cron expression evaluated in a time zone. Make it with
// ParseCron or ParseCalendar; it is immutable and safe for concurrent use.
// The package documentation states its rules.
type Cron struct {
	expr    string // normalised: fields joined by one space
	loc     *time.Location
	second  uint64 // bit n: second n
	minute  uint64 // bit n: minute n
	hour    uint64 // bit n: hour n
	dom     uint64 // bit n: day n of the month, 1 to 31
	month   uint64 // bit n: month n, 1 to 12
	dow     uint64 // bit n: weekday n, 0 (Sunday) to 6
	domStar bool   // day-of-month starts with * (or ?): it does not restrict
	dowStar bool   // day-of-week starts with * (or ?)
}

var _ Calendar = (*Cron)(nil)

// maxCronLen bounds a cron expression's length, so hostile input costs
// little.
const maxCronLen = 1024

// field describes one cron field.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i (months, weekdays)
}

var (
	secondField = field{name: "second", max: 59}
	minuteField = field{name: "minute", max: 59}
	hourField   = field{name: "hour", max: 23}
	domField    = field{name: "day-of-month", min: 1, max: 31}
	monthField  = field{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	// Weekday 7 is Sunday again, as in Vixie cron.
	dowField = field{name: "day-of-week", max: 7,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
)

// descriptors are the @-shorthands, as six-field expressions.
var descriptors = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

// ParseCron reads a cron expression of five fields (minute hour
// day-of-month month day-of-week) or six (second first), or one of the
// descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight and
// @hourly, to be evaluated in loc (nil means UTC). "@every" is not a cron
// expression: use ParseCalendar. Errors are *CronError naming the field and
// the value.
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	if loc == nil {
		loc = time.UTC
	}
	if len(expr) > maxCronLen {
		return nil, &CronError{Field: "expression", Value: expr, Reason: fmt.Sprintf("longer than %d bytes", maxCronLen)}
	}
	text := strings.TrimSpace(expr)
	if strings.HasPrefix(text, "@") {
		six, ok := descriptors[strings.ToLower(text)]
		if !ok {
			return nil, &CronError{Field: "descriptor", Value: text,
				Reason: "unknown (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)"}
		}
		c, err := parseFields(strings.Fields(six), loc)
		if err == nil {
			c.expr = strings.ToLower(text)
		}
		return c, err
	}
	fs := strings.Fields(text)
	switch len(fs) {
	case 5:
		fs = append([]string{"0"}, fs...)
	case 6:
	default:
		return nil, &CronError{Field: "expression", Value: text,
			Reason: fmt.Sprintf("has %d fields; want 5 (minute hour day-of-month month day-of-week) or 6 (second first)", len(fs))}
	}
	c, err := parseFields(fs, loc)
	if err == nil {
		c.expr = strings.Join(strings.Fields(text), " ")
	}
	return c, err
}

// parseFields reads six fields, seconds first.
func parseFields(fs []string, loc *time.Location) (*Cron, error) {
	c := &Cron{loc: loc}
	var err error
	sets := []*uint64{&c.second, &c.minute, &c.hour, &c.dom, &c.month, &c.dow}
	specs := []field{secondField, minuteField, hourField, domField, monthField, dowField}
	for i, f := range specs {
		if *sets[i], err = f.parse(fs[i]); err != nil {
			return nil, err
		}
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday
		c.dow = c.dow&^(1<<7) | 1
	}
	c.domStar = strings.HasPrefix(fs[3], "*") || strings.HasPrefix(fs[3], "?")
	c.dowStar = strings.HasPrefix(fs[5], "*") || strings.HasPrefix(fs[5], "?")
	if err := c.checkPossible(fs[3]); err != nil {
		return nil, err
	}
	return c, nil
}

// daysInMonthMax is the most days each month can have (February: 29).
var daysInMonthMax = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkPossible refuses an expression whose days can never occur: a
// day-of-month that no listed month has, when day-of-week does not offer
// other days (0 0 31 2 *).
func (c *Cron) checkPossible(domText string) error {
	if !c.dowStar && !c.domStar {
		return nil // either may match: every month has every weekday
	}
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 && c.dom&(1<<(daysInMonthMax[m]+1)-1) != 0 {
			return nil
		}
	}
	return &CronError{Field: "day-of-month", Value: domText, Reason: "no listed month has such a day, so the expression never fires"}
}

// parse reads one field: a comma-separated list of *, ?, a value, a range
// a-b, each optionally with a step /n (a/n means a to the field's maximum).
func (f field) parse(text string) (uint64, error) {
	var set uint64
	for part := range strings.SplitSeq(text, ",") {
		bitsOf, err := f.parsePart(part)
		if err != nil {
			return 0, err
		}
		set |= bitsOf
	}
	return set, nil
}

func (f field) parsePart(part string) (uint64, error) {
	fail := func(reason string) (uint64, error) {
		return 0, &CronError{Field: f.name, Value: part, Reason: reason}
	}
	if part == "" {
		return fail("empty value (two commas in a row, or a trailing comma)")
	}
	rng, stepText, hasStep := strings.Cut(part, "/")
	lo, hi := f.min, f.max
	switch {
	case rng == "*" || rng == "?":
		if rng == "?" && f.name != domField.name && f.name != dowField.name {
			return fail("? is allowed only in day-of-month and day-of-week")
		}
		if f.name == dowField.name {
			hi = 6 // * is every day once; 7 would be Sunday again
		}
	default:
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a); err != nil {
			return fail(err.Error())
		}
		hi = lo
		switch {
		case isRange:
			if hi, err = f.value(b); err != nil {
				return fail(err.Error())
			}
			if hi < lo {
				return fail(fmt.Sprintf("range starts at %d, after its end %d", lo, hi))
			}
		case hasStep:
			hi = f.max // a/n: from a to the maximum
		}
	}
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || !isDigits(stepText) || n < 1 || n > f.max-f.min+1 {
			return fail(fmt.Sprintf("step must be a number from 1 to %d", f.max-f.min+1))
		}
		step = n
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set, nil
}

// value reads one number or name of the field.
func (f field) value(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty value")
	}
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || len(s) > 4 || n < f.min || n > f.max {
			return 0, fmt.Errorf("out of range (%d to %d)", f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	if len(f.names) > 0 {
		return 0, fmt.Errorf("unknown name (use %s to %s or %d to %d)", f.names[0], f.names[len(f.names)-1], f.min, f.max)
	}
	return 0, fmt.Errorf("not a number from %d to %d", f.min, f.max)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String returns the expression and its zone: "0 9 * * MON-FRI in
// Europe/London".
func (c *Cron) String() string { return c.expr + " in " + c.loc.String() }

// Expression is the cron expression without its zone.
func (c *Cron) Expression() string { return c.expr }

// Location is the zone the expression is evaluated in.
func (c *Cron) Location() *time.Location { return c.loc }

// dayMatches applies the day rule: when both day fields restrict, a day
// matching either fires (Vixie cron); otherwise both must match, which
// leaves the restricting one to decide.
func (c *Cron) dayMatches(y, m, d int) bool {
	wd := int(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Weekday())
	domOK, dowOK := c.dom&(1<<d) != 0, c.dow&(1<<wd) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// nextBit returns the lowest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from >= 64 {
		return -1
	}
	rest := set & (^uint64(0) << from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}
