package temporal_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/packetflow/packetflow/temporal"
)

var propertyZones = []string{"UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Sao_Paulo"}

// transitions are instants near which the zones above change offset; the
// property test starts near them as often as anywhere else.
var transitions = []string{
	"2025-03-09T07:00:00Z", "2025-11-02T06:00:00Z", // New York
	"2025-03-30T01:00:00Z", "2025-10-26T01:00:00Z", // London
	"2025-04-05T16:00:00Z", "2025-10-04T16:00:00Z", // Sydney
	"2025-04-05T15:00:00Z", "2025-10-04T15:30:00Z", // Lord Howe
	"2018-11-04T03:00:00Z", "2019-02-17T02:00:00Z", // Sao Paulo
}

// TestCronNextMatchesBruteForce checks Next against an oracle that walks
// instants minute by minute and applies the documented rules directly: an
// instant fires if its wall time matches and was not seen before (the
// first occurrence), or if it ends a gap that skipped a matching wall time.
func TestCronNextMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		expr := fmt.Sprintf("%s %s %s %s %s",
			rapid.SampledFrom([]string{"*", "0", "*/15", "30", "0,45", "10-20/5"}).Draw(rt, "minute"),
			rapid.SampledFrom([]string{"*", "1", "2", "1-3", "*/2", "0,12", "23"}).Draw(rt, "hour"),
			rapid.SampledFrom([]string{"*", "1", "*/3", "5,6", "?"}).Draw(rt, "dom"),
			rapid.SampledFrom([]string{"*"}).Draw(rt, "month"),
			rapid.SampledFrom([]string{"*", "SUN", "1-5", "?", "*/2"}).Draw(rt, "dow"))
		zone := rapid.SampledFrom(propertyZones).Draw(rt, "zone")
		base, _ := time.Parse(time.RFC3339, rapid.SampledFrom(transitions).Draw(rt, "near"))
		after := base.Add(time.Duration(rapid.IntRange(-26*60, 26*60).Draw(rt, "minutes")) * time.Minute).
			Add(time.Duration(rapid.IntRange(0, 59).Draw(rt, "seconds")) * time.Second)
		cal, err := temporal.ParseCalendar(expr, zone)
		require.NoError(rt, err)
		loc, _ := temporal.LoadZone(zone)
		horizon := 10 * 24 * time.Hour
		want, found := bruteNext(rt, expr, loc, after, horizon)
		got := cal.Next(after)
		if !found {
			require.True(rt, got.After(after.Add(horizon-time.Minute)), "%s in %s after %s: oracle found nothing in %v, Next says %s", expr, zone, after, horizon, got)
			return
		}
		require.True(rt, want.Equal(got), "%s in %s after %s: want %s, got %s", expr, zone, after.In(loc), want.In(loc), got)
	})
}

// bruteNext is the oracle: minute-level five-field expressions only.
func bruteNext(t require.TestingT, expr string, loc *time.Location, after time.Time, horizon time.Duration) (time.Time, bool) {
	fs := strings.Fields(expr)
	six, err := temporal.ParseCron("0 "+strings.Join(fs, " "), time.UTC)
	require.NoError(t, err)
	matches := func(wall time.Time) bool { // wall as UTC fields
		prev := wall.Add(-time.Second)
		return six.Next(prev).Equal(wall)
	}
	wallOf := func(i time.Time) time.Time {
		l := i.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
	}
	start := after.Truncate(time.Minute).Add(-27 * time.Hour)
	seen := map[time.Time]bool{}
	var prevWall time.Time
	for i := start; i.Before(after.Add(horizon)); i = i.Add(time.Minute) {
		w := wallOf(i)
		fires := false
		if !seen[w] && matches(w) {
			fires = true
		}
		if !prevWall.IsZero() {
			for g := prevWall.Add(time.Minute); g.Before(w); g = g.Add(time.Minute) {
				if matches(g) {
					fires = true // a skipped wall time fires at the gap's end
				}
			}
		}
		seen[w] = true
		prevWall = w
		if fires && i.After(after) {
			return i, true
		}
	}
	return time.Time{}, false
}
