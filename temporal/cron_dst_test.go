package temporal_test

import "testing"

// Next-fire computation across daylight-saving transitions. The rules:
// a wall time the forward transition skips fires once, at the transition
// (the first valid instant after it); a wall time the backward transition
// repeats fires once, at its first occurrence.
func TestCronAcrossDST(t *testing.T) {
	runNextCases(t, []nextCase{
		// America/New_York 2025: 02:00 EST → 03:00 EDT on March 9,
		// 02:00 EDT → 01:00 EST on November 2.
		{"NY skipped 02:30 fires at 03:00 EDT", "30 2 * * *", "America/New_York", "2025-03-08T12:00:00-05:00",
			[]string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"}},
		{"NY four skipped slots fire once", "*/15 2 * * *", "America/New_York", "2025-03-09T01:59:00-05:00",
			[]string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"}},
		{"NY skipped and real 03:00 fire once", "0,30 2,3 * * *", "America/New_York", "2025-03-09T01:00:00-05:00",
			[]string{"2025-03-09T03:00:00-04:00", "2025-03-09T03:30:00-04:00", "2025-03-10T02:00:00-04:00"}},
		{"NY hourly across spring forward", "0 * * * *", "America/New_York", "2025-03-09T00:30:00-05:00",
			[]string{"2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"}},
		{"NY repeated 01:30 fires at its first occurrence", "30 1 * * *", "America/New_York", "2025-11-02T00:00:00-04:00",
			[]string{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
		{"NY hourly: the repeated hour fires once", "0 * * * *", "America/New_York", "2025-11-02T00:30:00-04:00",
			[]string{"2025-11-02T01:00:00-04:00", "2025-11-02T02:00:00-05:00", "2025-11-02T03:00:00-05:00"}},
		{"NY from inside the second occurrence", "*/10 * * * *", "America/New_York", "2025-11-02T01:30:00-05:00",
			[]string{"2025-11-02T02:00:00-05:00", "2025-11-02T02:10:00-05:00"}},
		{"NY 02:00 on fall-back day occurs once", "0 2 * * *", "America/New_York", "2025-11-02T00:00:00-04:00",
			[]string{"2025-11-02T02:00:00-05:00"}},
		{"NY daily 09:00 keeps wall time", "0 9 * * *", "America/New_York", "2025-03-08T10:00:00-05:00",
			[]string{"2025-03-09T09:00:00-04:00", "2025-03-10T09:00:00-04:00"}},
		// Europe/London 2025: 01:00 GMT → 02:00 BST on March 30,
		// 02:00 BST → 01:00 GMT on October 26.
		{"London skipped 01:30", "30 1 * * *", "Europe/London", "2025-03-29T12:00:00Z",
			[]string{"2025-03-30T02:00:00+01:00", "2025-03-31T01:30:00+01:00"}},
		{"London repeated 01:30", "30 1 * * *", "Europe/London", "2025-10-26T00:00:00+01:00",
			[]string{"2025-10-26T01:30:00+01:00", "2025-10-27T01:30:00Z"}},
		{"London seconds in the repeated hour", "0 59 1 * * *", "Europe/London", "2025-10-26T01:00:00+01:00",
			[]string{"2025-10-26T01:59:00+01:00", "2025-10-27T01:59:00Z"}},
		// Australia/Sydney 2025: 03:00 AEDT → 02:00 AEST on April 6,
		// 02:00 AEST → 03:00 AEDT on October 5.
		{"Sydney repeated 02:30", "30 2 * * *", "Australia/Sydney", "2025-04-05T12:00:00+11:00",
			[]string{"2025-04-06T02:30:00+11:00", "2025-04-07T02:30:00+10:00"}},
		{"Sydney skipped 02:30", "30 2 * * *", "Australia/Sydney", "2025-10-04T12:00:00+10:00",
			[]string{"2025-10-05T03:00:00+11:00", "2025-10-06T02:30:00+11:00"}},
		// Australia/Lord_Howe: +10:30 standard, +11 summer, a 30-minute
		// shift. 2025: 02:00 → 01:30 on April 6, 02:00 → 02:30 on October 5.
		{"Lord Howe skipped 02:15 fires at 02:30", "15 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00+10:30",
			[]string{"2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"}},
		{"Lord Howe 02:45 exists", "45 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00+10:30",
			[]string{"2025-10-05T02:45:00+11:00"}},
		{"Lord Howe repeated 01:45", "45 1 * * *", "Australia/Lord_Howe", "2025-04-05T12:00:00+11:00",
			[]string{"2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"}},
		{"Lord Howe 01:15 occurs once", "15 1 * * *", "Australia/Lord_Howe", "2025-04-05T12:00:00+11:00",
			[]string{"2025-04-06T01:15:00+11:00"}},
		{"Lord Howe half-hourly across fall-back", "0,30 * * * *", "Australia/Lord_Howe", "2025-04-06T01:00:00+11:00",
			[]string{"2025-04-06T01:30:00+11:00", "2025-04-06T02:00:00+10:30", "2025-04-06T02:30:00+10:30"}},
		// Asia/Kathmandu: +05:45, no DST.
		{"Kathmandu 09:00", "0 9 * * *", "Asia/Kathmandu", "2025-01-01T00:00:00Z",
			[]string{"2025-01-01T09:00:00+05:45", "2025-01-02T09:00:00+05:45"}},
		{"Kathmandu half-hours", "*/30 * * * *", "Asia/Kathmandu", "2025-01-01T03:20:00Z",
			[]string{"2025-01-01T09:30:00+05:45", "2025-01-01T10:00:00+05:45"}},
		// America/Sao_Paulo 2018: midnight skipped (00:00 → 01:00 on
		// November 4), so @daily fires at 01:00.
		{"Sao Paulo skipped midnight", "@daily", "America/Sao_Paulo", "2018-11-03T12:00:00-03:00",
			[]string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
	})
}
