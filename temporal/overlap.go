package temporal

import "fmt"

// Overlap says what a schedule does with a slot that comes due while a
// run of an earlier slot is still in progress (its intent sent and not
// yet answered).
type Overlap uint8

const (
	// OverlapSkip drops the new slot; it is counted as skipped. The zero
	// value.
	OverlapSkip Overlap = iota
	// OverlapBufferOne keeps one slot to run when the runs in progress
	// finish; further slots are skipped while it waits.
	OverlapBufferOne
	// OverlapBufferAll keeps every slot (up to ScheduleConfig.MaxBuffered,
	// then skips) and runs them one after another.
	OverlapBufferAll
	// OverlapCancelOther abandons the runs in progress (their requests are
	// cancelled; a target may still handle an intent it already took) and
	// starts the new slot at once.
	OverlapCancelOther
	// OverlapAllowAll starts the new slot at once, beside the runs in
	// progress.
	OverlapAllowAll
)

var overlapNames = [...]string{"skip", "buffer-one", "buffer-all", "cancel-other", "allow-all"}

// String returns "skip", "buffer-one", "buffer-all", "cancel-other" or
// "allow-all".
func (o Overlap) String() string {
	if int(o) < len(overlapNames) {
		return overlapNames[o]
	}
	return fmt.Sprintf("Overlap(%d)", o)
}

// ParseOverlap reads the names String returns.
func ParseOverlap(s string) (Overlap, error) {
	for i, n := range overlapNames {
		if s == n {
			return Overlap(i), nil
		}
	}
	return 0, fmt.Errorf("%w: overlap policy %q (use skip, buffer-one, buffer-all, cancel-other or allow-all)", ErrInvalid, s)
}
