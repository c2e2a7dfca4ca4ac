package stream

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestWindowAssignment(t *testing.T) {
	tests := []struct {
		name string
		spec WindowSpec
		ts   int64
		want []span
	}{
		{"tumbling start", Tumbling(10), 0, []span{{0, 10}}},
		{"tumbling last instant", Tumbling(10), 9, []span{{0, 10}}},
		{"tumbling boundary opens next", Tumbling(10), 10, []span{{10, 20}}},
		{"tumbling negative", Tumbling(10), -1, []span{{-10, 0}}},
		{"tumbling negative boundary", Tumbling(10), -10, []span{{-10, 0}}},
		{"tumbling negative past boundary", Tumbling(10), -11, []span{{-20, -10}}},
		{"sliding", Sliding(10, 5), 7, []span{{0, 10}, {5, 15}}},
		{"sliding boundary", Sliding(10, 5), 5, []span{{0, 10}, {5, 15}}},
		{"sliding negative", Sliding(10, 5), -1, []span{{-10, 0}, {-5, 5}}},
		{"sliding three", Sliding(15, 5), 10, []span{{0, 15}, {5, 20}, {10, 25}}},
		{"sliding gap", Sliding(5, 10), 7, nil},
		{"sliding gap start", Sliding(5, 10), 3, []span{{0, 5}}},
		{"session", Session(5), -3, []span{{-3, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.assign(tt.ts)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestWindowBadInput(t *testing.T) {
	sys := newSystem(t)
	reduce := func(string, Bounds, []int) int { return 0 }
	for _, spec := range []WindowSpec{{}, Tumbling(0), Sliding(10, 0), Sliding(-1, 5), Session(0), TumblingCount(0), SlidingCount(3, 0)} {
		g := Via(FromSlice([]Keyed[string, int]{}), Window(spec, WindowOptions[string, int]{}, reduce)).To(Ignore[WindowResult[string, int]]())
		_, err := g.Run(testContext(t), sys)
		require.ErrorIs(t, err, ErrInvalid, "%v", spec)
	}
	g := Via(FromSlice([]Keyed[string, int]{}), Window[string, int, int](Tumbling(1), WindowOptions[string, int]{}, nil)).To(Ignore[WindowResult[string, int]]())
	_, err := g.Run(testContext(t), sys)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = (WindowSpec{kind: tumblingTime, size: 10, slide: 10}).assign(1 << 62)
	require.NoError(t, err)
	_, err = Tumbling(time.Hour).assign(1<<63 - 1)
	require.ErrorIs(t, err, errTimeRange, "a window end past int64 is an error, not an overflow")
}

// ev is an event-time test element: its key and timestamp.
type ev struct {
	key string
	ts  int64
}

// runWindow runs events through a window with event time and returns the
// firings and the late side output as text.
func runWindow(t testing.TB, spec WindowSpec, outOfOrder, lateness time.Duration, events []ev) (fired, late []string) {
	t.Helper()
	var results collector[WindowResult[string, string]]
	var lates collector[Keyed[string, ev]]
	opts := WindowOptions[string, ev]{
		EventTime:       func(e ev) time.Time { return time.Unix(0, e.ts) },
		MaxOutOfOrder:   outOfOrder,
		AllowedLateness: lateness,
		Late:            lates.sink(),
	}
	in := make([]Keyed[string, ev], len(events))
	for i, e := range events {
		in[i] = Keyed[string, ev]{Key: e.key, Value: e}
	}
	reduce := func(_ string, _ Bounds, items []ev) string {
		ts := make([]string, len(items))
		for i, e := range items {
			ts[i] = fmt.Sprint(e.ts)
		}
		return strings.Join(ts, ",")
	}
	g := Via(FromSlice(in), Window(spec, opts, reduce)).To(results.sink())
	require.NoError(t, run(t, newSystem(t), g, Config{Batch: 3}))
	for _, r := range results.get() {
		s := fmt.Sprintf("%s [%d,%d) %s", r.Key, r.Window.Start.UnixNano(), r.Window.End.UnixNano(), r.Value)
		if spec.byCount() {
			s = fmt.Sprintf("%s %s", r.Key, r.Value)
		}
		if r.Late {
			s += " late"
		}
		fired = append(fired, s)
	}
	for _, l := range lates.get() {
		late = append(late, fmt.Sprintf("%s %d", l.Key, l.Value.ts))
	}
	return fired, late
}

func TestWindowFiring(t *testing.T) {
	tests := []struct {
		name                 string
		spec                 WindowSpec
		outOfOrder, lateness time.Duration
		events               []ev
		fired, late          []string
	}{
		{
			name: "tumbling in order", spec: Tumbling(10),
			events: []ev{{"a", 1}, {"a", 5}, {"a", 12}},
			fired:  []string{"a [0,10) 1,5", "a [10,20) 12"},
		},
		{
			name: "boundaries are half-open", spec: Tumbling(10),
			events: []ev{{"a", 9}, {"a", 10}, {"a", 20}},
			fired:  []string{"a [0,10) 9", "a [10,20) 10", "a [20,30) 20"},
		},
		{
			name: "negative timestamps", spec: Tumbling(10), outOfOrder: 20,
			events: []ev{{"a", -1}, {"a", -10}, {"a", -11}, {"a", 0}},
			fired:  []string{"a [-20,-10) -11", "a [-10,0) -1,-10", "a [0,10) 0"},
		},
		{
			name: "keys never mix", spec: Tumbling(10),
			events: []ev{{"a", 1}, {"b", 2}, {"a", 3}, {"b", 11}},
			fired:  []string{"a [0,10) 1,3", "b [0,10) 2", "b [10,20) 11"},
		},
		{
			name: "late element goes to the side output", spec: Tumbling(10),
			events: []ev{{"a", 1}, {"a", 15}, {"a", 3}},
			fired:  []string{"a [0,10) 1", "a [10,20) 15"},
			late:   []string{"a 3"},
		},
		{
			name: "on the watermark is late", spec: Tumbling(10),
			events: []ev{{"a", 10}, {"a", 9}},
			fired:  []string{"a [10,20) 10"},
			late:   []string{"a 9"},
		},
		{
			name: "allowed lateness fires again, then drops", spec: Tumbling(10), lateness: 10,
			events: []ev{{"a", 1}, {"a", 15}, {"a", 3}, {"a", 25}, {"a", 4}},
			fired:  []string{"a [0,10) 1", "a [0,10) 1,3 late", "a [10,20) 15", "a [20,30) 25"},
			late:   []string{"a 4"},
		},
		{
			name: "bounded out-of-orderness", spec: Tumbling(10), outOfOrder: 5,
			events: []ev{{"a", 1}, {"a", 12}, {"a", 8}, {"a", 16}},
			fired:  []string{"a [0,10) 1,8", "a [10,20) 12,16"},
		},
		{
			name: "sliding", spec: Sliding(10, 5),
			events: []ev{{"a", 7}, {"a", 12}},
			fired:  []string{"a [0,10) 7", "a [5,15) 7,12", "a [10,20) 12"},
		},
		{
			name: "sliding, too late for one window of two", spec: Sliding(10, 5),
			events: []ev{{"a", 12}, {"a", 7}},
			fired:  []string{"a [5,15) 12,7", "a [10,20) 12"},
		},
		{
			name: "session", spec: Session(5),
			events: []ev{{"a", 1}, {"a", 3}, {"a", 10}, {"a", 20}},
			fired:  []string{"a [1,8) 1,3", "a [10,15) 10", "a [20,25) 20"},
		},
		{
			name: "sessions exactly a gap apart stay apart", spec: Session(5), outOfOrder: 10,
			events: []ev{{"a", 1}, {"a", 6}},
			fired:  []string{"a [1,6) 1", "a [6,11) 6"},
		},
		{
			name: "a late element bridges two sessions", spec: Session(5), outOfOrder: 10,
			events: []ev{{"a", 1}, {"a", 9}, {"a", 5}},
			fired:  []string{"a [1,14) 1,9,5"},
		},
		{
			name: "bridging a fired session within lateness", spec: Session(5), lateness: 10,
			events: []ev{{"a", 1}, {"a", 8}, {"a", 4}},
			fired:  []string{"a [1,6) 1", "a [1,13) 1,8,4"},
		},
		{
			name: "sessions of keys never merge", spec: Session(5), outOfOrder: 10,
			events: []ev{{"a", 1}, {"b", 3}, {"a", 4}},
			fired:  []string{"b [3,8) 3", "a [1,9) 1,4"},
		},
		{
			name: "tumbling count", spec: TumblingCount(2),
			events: []ev{{"a", 1}, {"b", 2}, {"a", 3}, {"a", 4}},
			fired:  []string{"a 1,3", "a 4", "b 2"},
		},
		{
			name: "sliding count", spec: SlidingCount(3, 2),
			events: []ev{{"a", 1}, {"a", 2}, {"a", 3}, {"a", 4}, {"a", 5}},
			fired:  []string{"a 1,2", "a 2,3,4", "a 3,4,5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fired, late := runWindow(t, tt.spec, tt.outOfOrder, tt.lateness, tt.events)
			require.Equal(t, tt.fired, fired)
			require.Equal(t, tt.late, late)
		})
	}
}

func TestProcessingTimeWindow(t *testing.T) {
	clock := NewManualClock(time.Unix(100, 0))
	inbox, err := NewInbox[Keyed[string, int]](16, OverflowBackpressure)
	require.NoError(t, err)
	snk, pr := ProbeSink[WindowResult[string, int]]()
	sum := func(_ string, _ Bounds, xs []int) int {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n
	}
	g := Via(FromInbox(inbox), Window(Tumbling(10*time.Second), WindowOptions[string, int]{}, sum)).To(snk)
	p, err := g.RunWith(testContext(t), newSystem(t), Config{Clock: clock})
	require.NoError(t, err)
	pr.Request(10)
	ctx := testContext(t)
	require.NoError(t, inbox.Offer(ctx, Keyed[string, int]{"a", 1}))
	require.NoError(t, inbox.Offer(ctx, Keyed[string, int]{"a", 2}))
	waitFor(t, func() bool { return stageStats(p, 1).In == 2 }, func() string { return fmt.Sprint(p.Stats()) })
	require.NoError(t, clock.BlockUntil(ctx, 1)) // the window's timer is armed
	clock.Advance(10 * time.Second)
	r := next(t, pr)
	require.Equal(t, WindowResult[string, int]{Key: "a", Value: 3, Count: 2,
		Window: Bounds{Start: time.Unix(100, 0).UTC(), End: time.Unix(110, 0).UTC()}}, r)
	require.NoError(t, inbox.Offer(ctx, Keyed[string, int]{"b", 5}))
	inbox.Close()
	r = next(t, pr)
	require.Equal(t, "b", r.Key)
	require.Equal(t, 5, r.Value)
	require.NoError(t, pr.ExpectEnd(ctx))
	require.NoError(t, p.Wait(ctx))
}

// Property: replaying the same event-time input gives identical window
// results, whatever the window kind, keys, disorder and lateness.
func TestPropertyWindowReplayIsDeterministic(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		spec := rapid.SampledFrom([]WindowSpec{Tumbling(10), Sliding(10, 3), Session(4), TumblingCount(3), SlidingCount(4, 2)}).Draw(rt, "spec")
		events := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) ev {
			return ev{key: rapid.SampledFrom([]string{"a", "b", "c"}).Draw(rt, "key"), ts: rapid.Int64Range(-50, 50).Draw(rt, "ts")}
		}), 0, 40).Draw(rt, "events")
		ooo := time.Duration(rapid.Int64Range(0, 20).Draw(rt, "out of order"))
		lateness := time.Duration(rapid.Int64Range(0, 20).Draw(rt, "lateness"))
		fired1, late1 := runWindow(t, spec, ooo, lateness, events)
		fired2, late2 := runWindow(t, spec, ooo, lateness, events)
		if fmt.Sprint(fired1) != fmt.Sprint(fired2) || fmt.Sprint(late1) != fmt.Sprint(late2) {
			rt.Fatalf("replay differs:\n%v %v\n%v %v", fired1, late1, fired2, late2)
		}
		// Every element is accounted for: in a window or in the side output
		// (count windows and sliding windows count it in several).
		if spec.kind == tumblingTime || spec.kind == tumblingCount {
			n := len(late1)
			for _, f := range fired1 {
				if !strings.HasSuffix(f, " late") {
					fields := strings.Fields(f)
					n += strings.Count(fields[len(fields)-1], ",") + 1
				}
			}
			if lateness == 0 && n != len(events) {
				rt.Fatalf("%d elements in, %d out: %v %v", len(events), n, fired1, late1)
			}
		}
	})
}
