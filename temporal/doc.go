// Package temporal is PacketFlow's time substrate: calendars (cron in IANA
// time zones, fixed intervals), schedules that send intents on a calendar,
// timers owned by reactors, durable reminders, and time constraints on
// intents and grants. Everything here reads time from a Clock, so every
// rule is tested with a FakeClock instead of sleeps.
//
// # Cron
//
// ParseCron and ParseCalendar read five fields (minute hour day-of-month
// month day-of-week) or six (second first). A field is a list of *, ?
// (day fields only), a value, a range a-b, each with an optional step /n
// (a/n means a to the maximum). Months and weekdays take names (JAN-DEC,
// SUN-SAT, any case); weekday 7 is Sunday. The descriptors @yearly,
// @annually, @monthly, @weekly, @daily, @midnight and @hourly stand for
// their usual expressions, and "@every D" is an Interval. A parse error is
// a *CronError naming the field and the value; an expression whose days
// can never occur (0 0 30 2 *) is an error too.
//
// An expression is evaluated in wall-clock time of its zone, with these
// rules, chosen deliberately:
//
//   - Day-of-month and day-of-week both restricted: a day matching either
//     fires (Vixie cron). If one of them is * (or starts with *, like
//     */2, as in Vixie cron), both must match, so the other decides.
//   - A day-of-month a month lacks is skipped in that month: "0 0 31 * *"
//     fires in the seven months with 31 days; "0 0 29 2 *" in leap years
//     only (2000 and 2400, not 2100).
//   - A wall time that does not exist, because a forward transition skips
//     it (02:30 on a spring-forward day in New York), fires once, at the
//     first valid instant after it: the transition (03:00 EDT). Several
//     skipped wall times fire once together.
//   - A wall time that occurs twice, because a backward transition repeats
//     it (01:30 on a fall-back day), fires once, at its first occurrence.
//     This holds for every field pattern: "0 * * * *" fires at 01:00 EDT
//     and next at 02:00 EST, not at 01:00 EST. For a period of elapsed
//     time that daylight saving time does not bend, use "@every".
//   - Offsets that are not whole hours (Asia/Kathmandu +05:45) and
//     transitions that are not an hour (Australia/Lord_Howe, 30 minutes)
//     follow the same rules.
//
// # Schedules
//
// StartSchedule spawns a schedule: a Proto.Actor actor that sends an
// intent (through a Requester: *actor.Runtime or *cluster.Node, so the
// capability check applies as to any intent) at every slot of a calendar
// between optional start and end bounds, each slot delayed by a seeded
// jitter that every member computes alike.
//
// Exactly once per slot: a schedule's state (every slot up to "through"
// decided, buffered slots, counters) lives in a store.Store, and a slot is
// committed there, with the version the schedule loaded, before its intent
// is sent. A second member running the same schedule, or the schedule
// restarted on another member, loses the commit (store.ErrConflict),
// reloads and sees the slot decided. A member that dies after the commit
// and before the send loses that slot's intent: a slot is sent at most
// once, never twice. So is an intent whose delivery has an unknown
// outcome: when the target reactor's owner dies before the survivors have
// noticed, a *cluster.Node routes the intent again only if it certainly
// never arrived or its type is idempotent; otherwise the run fails
// (EventFailed) and the slot is not sent again.
//
// A slot that comes due while a run (the intent sent, the reply not yet
// in) is in progress follows the schedule's Overlap policy: skip it, buffer
// one, buffer all (bounded), cancel the other, or allow all. Buffered
// slots are part of the committed state and run in order.
//
// Slots that came due while the schedule could not fire them (no member
// ran it, the wall clock stepped forward) are caught up once: the latest
// fires if it is at most CatchupWindow late, and the others are counted as
// missed. A step of the wall clock backwards never fires a slot at or
// before the last decided one, and a step forward is noticed within
// Recheck, since the schedule never sleeps longer than that without
// reading the clock.
//
// # Reactor timers and reminders
//
// Timers gives reactor handlers one-shot and periodic timers that send an
// intent back to the same activation, on behalf of the caller whose
// intent armed them. They die with the activation. A cancelled or replaced
// timer never has a tick handled, even one already queued: each tick
// carries its timer's generation and is dropped before the handler if the
// timer has changed since (actor.Activation.Post with an admit function).
//
// Reminders is a member's durable reminder service: reminders live in the
// store, sharded, and every member runs the service over the same store;
// each occurrence is committed conditionally before it is sent, so exactly
// one member sends it, through a Requester that (a *cluster.Node) delivers
// it to whichever member owns the reactor. Members learn of reminders
// others registered within Poll. As with schedules, an occurrence is sent
// at most once: one due while its reactor's owner has just died, and
// whose delivery therefore has an unknown outcome, is reported failed,
// not sent again. An occurrence due once the survivors have declared the
// owner dead reaches the new owner (TestReminderSurvivesSIGKILLOfItsMember).
//
// # Time constraints
//
// ParseConstraint reads constraints such as "business-hours 09:00-17:00
// Europe/London", "weekdays Asia/Kathmandu", "not-before <RFC 3339>" and
// "not-after <RFC 3339>", joined by ";". An unknown constraint is a parse
// error, never silently true. A Policy attaches them to intent types and
// to grants of a capability, and its Plugin enforces them as an intent
// plugin, against the policy's clock with a skew tolerance: it runs where
// an intent enters the runtime (Request, Send, NewEnvelope), before
// routing; an envelope delivered from a peer has passed the plugin of the
// node it entered. Validity windows of grants (NotBefore, NotAfter) are
// the capability package's and are checked by every mailbox.
package temporal
