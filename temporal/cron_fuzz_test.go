package temporal_test

import (
	"testing"
	"time"

	"github.com/packetflow/packetflow/temporal"
)

// FuzzParseCalendar: parsing never panics, and a calendar that parses
// always moves forward: Next(t) > t, Next(Next(t)) > Next(t).
func FuzzParseCalendar(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/7 1-5,9 1,15,31 JAN-MAR,dec mon-fri", "0 0 29 2 *", "0 30 2 * * *",
		"@every 1h", "@daily", "@every 90s", "5/15 * ? * 7", "0 0 31 2 MON", "1,,2 * * * *", "@every -3s"} {
		f.Add(s, uint8(1), int64(1741500000))
	}
	f.Fuzz(func(t *testing.T, expr string, zoneIndex uint8, unix int64) {
		zone := propertyZones[int(zoneIndex)%len(propertyZones)]
		cal, err := temporal.ParseCalendar(expr, zone)
		if err != nil {
			return
		}
		at := time.Unix(unix%(1<<40), 0) // ±35,000 years
		next := cal.Next(at)
		if next.IsZero() {
			return
		}
		if !next.After(at) {
			t.Fatalf("%s in %s: Next(%s) = %s, not after", expr, zone, at, next)
		}
		again := cal.Next(next)
		if !again.IsZero() && !again.After(next) {
			t.Fatalf("%s in %s: Next(%s) = %s, not after", expr, zone, next, again)
		}
	})
}
