// Command temporal shows PacketFlow's time substrate: a schedule sends an
// intent to the quick start's counter every hour of a (simulated) working
// day in Europe/London, on behalf of a principal whose user:basic grant is
// usable only in business hours. The schedule records each slot before it
// sends it; the capability check decides, in the counter's mailbox path,
// whether the intent is handled.
//
//	go run ./examples/temporal
//
// The day runs on a FakeClock so the program finishes in a moment and
// prints the same thing whenever it runs; with temporal.RealClock{} the
// same code waits for real hours.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // IANA zones without depending on the host

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	london, err := temporal.LoadZone("Europe/London")
	if err != nil {
		return err
	}
	// Monday 2 June 2025, 07:30 in London.
	clock := temporal.NewFakeClock(time.Date(2025, 6, 2, 7, 30, 0, 0, london))

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := actor.NewRuntime(actor.Config{Name: "example", Logger: quiet})
	if err != nil {
		return err
	}
	defer rt.Stop()
	if err := counter.Define(rt, nil); err != nil {
		return err
	}

	// Time-aware capabilities: user:basic works only in London business
	// hours. An unknown constraint would be an error here, not "always".
	policy, err := temporal.NewPolicy(clock, 0) // no skew tolerance: 17:00 is closed
	if err != nil {
		return err
	}
	if err := policy.Grant("user:basic", "business-hours 09:00-17:00 Europe/London"); err != nil {
		return err
	}
	if err := rt.Plugins().Register(policy.Plugin()); err != nil {
		return err
	}
	reporter, err := rt.NewContext("reporter", "user:basic")
	if err != nil {
		return err
	}

	cal, err := temporal.ParseCalendar("0 * * * MON-FRI", "Europe/London")
	if err != nil {
		return err
	}
	events := make(chan temporal.ScheduleEvent, 1024)
	s, err := temporal.StartSchedule(rt.System(), temporal.ScheduleConfig{
		Name:     "hourly-report",
		Calendar: cal,
		Intent: func(slot time.Time) proto.Message {
			return &counterpb.Increment{Counter: "reports", UserId: "reporter"}
		},
		Target: rt,
		Caller: reporter,
		Store:  store.NewMemory(),
		Clock:  clock,
		Events: func(e temporal.ScheduleEvent) { events <- e },
		// Look at the clock only at slots: every timer is a slot here.
		Recheck: time.Hour,
		Logger:  quiet,
	})
	if err != nil {
		return err
	}
	defer s.Stop(context.Background())

	fmt.Fprintf(out, "schedule %q: %s, on behalf of %q holding user:basic only %q\n", "hourly-report", cal, "reporter", "business-hours 09:00-17:00 Europe/London")
	end := time.Date(2025, 6, 2, 19, 0, 0, 0, london)
	accepted, denied := 0, 0
	for clock.Now().Before(end) {
		if err := clock.WaitPending(ctx, 1); err != nil {
			return err
		}
		d, _ := clock.Next()
		clock.Advance(d)
		e, err := outcome(ctx, events)
		if err != nil {
			return err
		}
		at := e.Slot.In(london).Format("Mon 15:04 MST")
		switch {
		case e.Kind == temporal.EventSucceeded:
			accepted++
			fmt.Fprintf(out, "%s  increment -> ok\n", at)
		case errors.Is(e.Err, capability.ErrPermissionDenied):
			denied++
			fmt.Fprintf(out, "%s  increment -> denied (outside business hours)\n", at)
		default:
			return fmt.Errorf("slot %s: %w", at, e.Err)
		}
	}
	// The auditor's user:admin is not constrained (and implies basic).
	auditor, err := rt.NewContext("auditor", "user:admin")
	if err != nil {
		return err
	}
	reply, err := rt.Request(ctx, auditor, &counterpb.Get{Counter: "reports"})
	if err != nil {
		return err
	}
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "day done: %d slots fired, %d accepted, %d denied; counter \"reports\" = %d; next slot %s\n",
		st.Fired, accepted, denied, reply.(*counterpb.Value).Count, st.Next.In(london).Format("Mon 2 Jan 15:04 MST"))

	// The calendar's rules around daylight saving time, for the record.
	dst, _ := temporal.ParseCalendar("30 1 * * *", "Europe/London")
	at := time.Date(2025, 3, 29, 12, 0, 0, 0, london)
	fmt.Fprintf(out, "%q in London after %s:", "30 1 * * *", at.Format("2 Jan"))
	for range 2 {
		at = dst.Next(at)
		fmt.Fprintf(out, " %s", at.Format("2 Jan 15:04 MST"))
	}
	fmt.Fprintln(out, " (01:30 does not exist on 30 March: it fires at 02:00 BST, once)")
	return nil
}

// outcome waits for the end of the next run: its success or failure.
func outcome(ctx context.Context, events chan temporal.ScheduleEvent) (temporal.ScheduleEvent, error) {
	for {
		select {
		case e := <-events:
			if e.Kind == temporal.EventSucceeded || e.Kind == temporal.EventFailed {
				return e, nil
			}
		case <-ctx.Done():
			return temporal.ScheduleEvent{}, ctx.Err()
		}
	}
}
