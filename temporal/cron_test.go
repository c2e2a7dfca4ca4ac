package temporal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/temporal"
)

// nextCase: after `after`, expr in zone fires at each of want, in order.
type nextCase struct {
	name  string
	expr  string
	zone  string
	after string   // RFC 3339
	want  []string // RFC 3339 with the zone's offset
}

func runNextCases(t *testing.T, cases []nextCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cal, err := temporal.ParseCalendar(tc.expr, tc.zone)
			require.NoError(t, err)
			at := mustTime(t, tc.after)
			for i, w := range tc.want {
				next := cal.Next(at)
				require.Equal(t, w, next.Format(time.RFC3339), "firing %d of %s in %s after %s", i+1, tc.expr, tc.zone, at.Format(time.RFC3339))
				require.True(t, mustTime(t, w).Equal(next))
				at = next
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func TestCronFieldsAndDescriptors(t *testing.T) {
	runNextCases(t, []nextCase{
		{"every minute", "* * * * *", "", "2025-01-01T00:00:30Z",
			[]string{"2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"}},
		{"six fields, seconds first", "*/20 * * * * *", "", "2025-01-01T00:00:30Z",
			[]string{"2025-01-01T00:00:40Z", "2025-01-01T00:01:00Z", "2025-01-01T00:01:20Z"}},
		{"sub-second after", "30 * * * * *", "", "2025-01-01T00:00:30.5Z",
			[]string{"2025-01-01T00:01:30Z"}},
		{"lists, ranges, steps", "0 8-10,15/4 * * *", "", "2025-01-01T09:30:00Z",
			[]string{"2025-01-01T10:00:00Z", "2025-01-01T15:00:00Z", "2025-01-01T19:00:00Z", "2025-01-01T23:00:00Z", "2025-01-02T08:00:00Z"}},
		{"range with step", "0 0 1-10/3 * *", "", "2025-01-01T00:00:00Z",
			[]string{"2025-01-04T00:00:00Z", "2025-01-07T00:00:00Z", "2025-01-10T00:00:00Z", "2025-02-01T00:00:00Z"}},
		{"month names", "0 0 1 jan,JUL *", "", "2025-01-01T00:00:00Z",
			[]string{"2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"weekday names", "0 12 * * MON-fri", "", "2025-01-03T13:00:00Z", // a Friday
			[]string{"2025-01-06T12:00:00Z", "2025-01-07T12:00:00Z"}},
		{"weekday 7 is Sunday", "0 0 * * 7", "", "2025-01-01T00:00:00Z",
			[]string{"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
		{"weekday range to 7", "0 0 * * 6-7", "", "2025-01-01T00:00:00Z",
			[]string{"2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-11T00:00:00Z"}},
		{"@yearly", "@yearly", "", "2025-06-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"@annually", "@annually", "", "2025-06-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"@monthly", "@monthly", "", "2025-06-01T00:00:00Z", []string{"2025-07-01T00:00:00Z"}},
		{"@weekly", "@weekly", "", "2025-06-01T00:00:00Z", []string{"2025-06-08T00:00:00Z"}},
		{"@daily", "@daily", "", "2025-06-01T00:00:00Z", []string{"2025-06-02T00:00:00Z"}},
		{"@midnight", "@midnight", "", "2025-06-01T00:00:00Z", []string{"2025-06-02T00:00:00Z"}},
		{"@hourly", "@HOURLY", "", "2025-06-01T00:59:59Z", []string{"2025-06-01T01:00:00Z"}},
		{"@every", "@every 90m", "", "2025-06-01T00:00:00Z",
			[]string{"2025-06-01T01:30:00Z", "2025-06-01T03:00:00Z"}},
		{"@every ignores the zone's DST", "@every 1h", "America/New_York", "2025-03-09T06:30:00Z",
			[]string{"2025-03-09T07:00:00Z", "2025-03-09T08:00:00Z"}},
	})
}

// Day-of-month and day-of-week: both restricted, either matches (Vixie
// cron); one of them * (or starting with *), the other decides.
func TestCronDayRules(t *testing.T) {
	runNextCases(t, []nextCase{
		{"both restricted: either", "0 0 13 * FRI", "", "2025-01-01T00:00:00Z",
			[]string{"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z"}},
		{"day-of-month *: weekday decides", "0 0 * * MON", "", "2025-01-01T00:00:00Z",
			[]string{"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z"}},
		{"day-of-week *: day decides", "0 0 1 * *", "", "2025-01-01T00:00:00Z",
			[]string{"2025-02-01T00:00:00Z"}},
		{"day-of-week ?: day decides", "0 0 1 * ?", "", "2025-01-01T00:00:00Z",
			[]string{"2025-02-01T00:00:00Z"}},
		{"*/10 counts as *: both must match", "0 0 */10 * MON", "", "2025-01-01T00:00:00Z",
			[]string{"2025-03-31T00:00:00Z", "2025-04-21T00:00:00Z"}},
	})
}

func TestCronMonthEndsAndLeapYears(t *testing.T) {
	runNextCases(t, []nextCase{
		{"day 31 skips short months", "0 0 31 * *", "", "2025-01-31T00:00:00Z",
			[]string{"2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z", "2025-10-31T00:00:00Z", "2025-12-31T00:00:00Z", "2026-01-31T00:00:00Z"}},
		{"day 30 skips February", "0 0 30 * *", "", "2025-01-30T00:00:00Z",
			[]string{"2025-03-30T00:00:00Z"}},
		{"February 29 only in leap years", "0 0 29 2 *", "", "2025-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"2100 is not a leap year, 2000 is", "0 0 29 FEB *", "", "2096-03-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"2000 was", "0 0 29 FEB *", "", "1997-01-01T00:00:00Z",
			[]string{"2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"}},
		{"last days of February", "0 0 28,29 2 *", "", "2025-02-01T00:00:00Z",
			[]string{"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"year end", "59 23 31 12 *", "Asia/Kathmandu", "2025-12-31T23:59:00+05:45",
			[]string{"2026-12-31T23:59:00+05:45"}},
	})
}

func TestCronParseErrorsNameFieldAndValue(t *testing.T) {
	cases := []struct {
		expr, zone  string
		field, text string
	}{
		{"", "", "expression", ""},
		{"* * * *", "", "expression", "* * * *"},
		{"* * * * * * *", "", "expression", "* * * * * * *"},
		{"60 * * * *", "", "minute", "60"},
		{"* 24 * * *", "", "hour", "24"},
		{"* * 0 * *", "", "day-of-month", "0"},
		{"* * * 13 *", "", "month", "13"},
		{"* * * FOO *", "", "month", "FOO"},
		{"* * * * FUN", "", "day-of-week", "FUN"},
		{"* * * * 8", "", "day-of-week", "8"},
		{"60 * * * * *", "", "second", "60"},
		{"*/0 * * * *", "", "minute", "*/0"},
		{"*/x * * * *", "", "minute", "*/x"},
		{"5-1 * * * *", "", "minute", "5-1"},
		{"1,,2 * * * *", "", "minute", ""},
		{"? * * * *", "", "minute", "?"},
		{"-1 * * * *", "", "minute", "-1"},
		{"+1 * * * *", "", "minute", "+1"},
		{"1-2-3 * * * *", "", "minute", "1-2-3"},
		{"0 0 30 2 *", "", "day-of-month", "30"},
		{"0 0 31 4,6,9,11 *", "", "day-of-month", "31"},
		{"@weekday", "", "descriptor", "@weekday"},
		{"@every", "", "@every", "@every"},
		{"@every 0s", "", "@every", "0s"},
		{"@every -1h", "", "@every", "-1h"},
		{"@every soon", "", "@every", "soon"},
		{"@everyday", "", "@every", "@everyday"},
	}
	for _, tc := range cases {
		_, err := temporal.ParseCalendar(tc.expr, tc.zone)
		var ce *temporal.CronError
		require.True(t, errors.As(err, &ce), "%q: %v", tc.expr, err)
		require.ErrorIs(t, err, temporal.ErrInvalid)
		require.Equal(t, tc.field, ce.Field, "%q", tc.expr)
		require.Equal(t, tc.text, ce.Value, "%q", tc.expr)
		require.Contains(t, err.Error(), tc.field)
	}
	// 0 0 31 2 * never fires, but 0 0 31 2 MON does (every Monday in
	// February: either day field matches).
	_, err := temporal.ParseCalendar("0 0 31 2 MON", "")
	require.NoError(t, err)
	_, err = temporal.ParseCalendar("0 9 * * *", "Mars/Olympus_Mons")
	require.ErrorIs(t, err, temporal.ErrInvalid)
	require.Contains(t, err.Error(), "Mars/Olympus_Mons")
}

func TestCronStrings(t *testing.T) {
	c, err := temporal.ParseCalendar("  0   9 * *  MON-FRI ", "Europe/London")
	require.NoError(t, err)
	require.Equal(t, "0 9 * * MON-FRI in Europe/London", c.String())
	c, err = temporal.ParseCalendar("@Daily", "")
	require.NoError(t, err)
	require.Equal(t, "@daily in UTC", c.String())
	c, err = temporal.ParseCalendar("@every 1m30s", "Asia/Kathmandu")
	require.NoError(t, err)
	require.Equal(t, "@every 1m30s", c.String())
}

func TestIntervalEdges(t *testing.T) {
	require.True(t, temporal.Interval{}.Next(epoch).IsZero())
	iv := temporal.Interval{Every: time.Hour, Anchor: epoch.Add(30 * time.Minute)}
	require.Equal(t, epoch.Add(30*time.Minute), iv.Next(epoch))
	require.Equal(t, epoch.Add(-30*time.Minute), iv.Next(epoch.Add(-90*time.Minute)))
	require.Equal(t, epoch.Add(-30*time.Minute), iv.Next(epoch.Add(-time.Hour)))
	// Too far from the anchor to compute: no next, never a wrong one.
	require.True(t, iv.Next(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero())
	require.True(t, iv.Next(time.Time{}).IsZero())
}
