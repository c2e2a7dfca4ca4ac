package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlatMapKeyByMerge(t *testing.T) {
	sys := newSystem(t)
	var c collector[Keyed[bool, int]]
	even := func(x int) bool { return x%2 == 0 }
	a := Via(FromSlice([]int{1, 2, 3}), FlatMap(func(x int) []int { return []int{x, x * 10} }))
	b := FromSlice([]int{100, 200})
	g := Via(Merge(a, b), KeyBy(even)).To(c.sink())
	require.NoError(t, run(t, sys, g, Config{Batch: 2}))
	var fromA, fromB []int
	for _, kv := range c.get() {
		require.Equal(t, even(kv.Value), kv.Key)
		if kv.Value >= 100 && kv.Value%100 == 0 && kv.Value != 10 && kv.Value != 20 && kv.Value != 30 {
			fromB = append(fromB, kv.Value)
		} else {
			fromA = append(fromA, kv.Value)
		}
	}
	require.Equal(t, []int{1, 10, 2, 20, 3, 30}, fromA, "each source's order is kept")
	require.Equal(t, []int{100, 200}, fromB)
}

func TestBroadcastAndChannels(t *testing.T) {
	sys := newSystem(t)
	in := make(chan int)
	out := make(chan int, 1)
	var c collector[int]
	toOut := ToChan(out)
	g := FromChan(in).To(Broadcast(c.sink(), toOut))
	p, err := g.Run(testContext(t), sys)
	require.NoError(t, err)
	go func() {
		for i := 0; i < 500; i++ {
			in <- i
		}
		close(in)
	}()
	var got []int
	for x := range out { // ToChan closes out at the end
		got = append(got, x)
	}
	require.NoError(t, p.Wait(testContext(t)))
	require.Equal(t, ints(500), got)
	require.Equal(t, ints(500), c.get())
	_, err = FromSlice(ints(1)).To(toOut).Run(testContext(t), sys)
	require.ErrorIs(t, err, ErrInvalid, "a ToChan blueprint runs once")
}

func TestFromChanReadsOnlyWhatWasRequested(t *testing.T) {
	ch := make(chan int, 100)
	for i := 0; i < 100; i++ {
		ch <- i
	}
	pr, _ := startProbe(t, FromChan(ch), Config{})
	pr.Request(5)
	for i := 0; i < 5; i++ {
		require.Equal(t, i, next(t, pr))
	}
	require.Equal(t, 95, len(ch), "the channel is the backpressure: unrequested elements stay in it")
}

func TestBatchByCountAndTime(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	inbox, err := NewInbox[string](8, OverflowBackpressure)
	require.NoError(t, err)
	snk, pr := ProbeSink[[]string]()
	p, err := Via(FromInbox(inbox), Batch[string](3, time.Second)).To(snk).RunWith(testContext(t), newSystem(t), Config{Clock: clock})
	require.NoError(t, err)
	ctx := testContext(t)
	pr.Request(10)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		require.NoError(t, inbox.Offer(ctx, s))
	}
	require.Equal(t, []string{"a", "b", "c"}, next(t, pr), "full by count")
	waitFor(t, func() bool { return stageStats(p, 1).In == 5 }, func() string { return fmt.Sprint(p.Stats()) })
	require.NoError(t, clock.BlockUntil(ctx, 1))
	clock.Advance(time.Second)
	require.Equal(t, []string{"d", "e"}, next(t, pr), "due by time")
	require.NoError(t, inbox.Offer(ctx, "f"))
	inbox.Close()
	require.Equal(t, []string{"f"}, next(t, pr), "what is left at completion")
	require.NoError(t, pr.ExpectEnd(ctx))
	require.NoError(t, p.Wait(ctx))
}

func TestThrottle(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	snk, pr := ProbeSink[int]()
	p, err := Via(FromSlice(ints(5)), Throttle[int](2, time.Second)).To(snk).RunWith(testContext(t), newSystem(t), Config{Clock: clock})
	require.NoError(t, err)
	ctx := testContext(t)
	pr.Request(5)
	require.Equal(t, 0, next(t, pr))
	require.Equal(t, 1, next(t, pr), "a burst of 2")
	for i := 2; i < 5; i++ {
		require.NoError(t, clock.BlockUntil(ctx, 1))
		require.Equal(t, int64(i), pr.Received(), "nothing more before the clock moves")
		clock.Advance(500 * time.Millisecond)
		require.Equal(t, i, next(t, pr), "one per half second")
	}
	require.NoError(t, pr.ExpectEnd(ctx))
	require.NoError(t, p.Wait(ctx))
}

func TestTickerAndAfter(t *testing.T) {
	start := time.Unix(1000, 0)
	clock := NewManualClock(start)
	snk, pr := ProbeSink[time.Time]()
	p, err := Ticker(time.Second).To(snk).RunWith(testContext(t), newSystem(t), Config{Clock: clock})
	require.NoError(t, err)
	ctx := testContext(t)
	pr.Request(2)
	for i := 1; i <= 2; i++ {
		require.NoError(t, clock.BlockUntil(ctx, 1))
		clock.Advance(time.Second)
		require.Equal(t, start.Add(time.Duration(i)*time.Second), next(t, pr))
	}
	// No demand: the first tick is held, the next dropped.
	for i := 0; i < 2; i++ {
		require.NoError(t, clock.BlockUntil(ctx, 1))
		clock.Advance(time.Second)
	}
	waitFor(t, func() bool { return stageStats(p, 0).Dropped == 1 }, func() string { return fmt.Sprint(p.Stats()) })
	pr.Request(1)
	require.Equal(t, start.Add(3*time.Second), next(t, pr))
	pr.Cancel()
	require.NoError(t, p.Wait(ctx))

	snk, pr = ProbeSink[time.Time]()
	p, err = After(5*time.Second).To(snk).RunWith(ctx, newSystem(t), Config{Clock: clock})
	require.NoError(t, err)
	require.NoError(t, clock.BlockUntil(ctx, 1))
	clock.Advance(5 * time.Second)
	pr.Request(1)
	require.Equal(t, start.Add(9*time.Second), next(t, pr))
	require.NoError(t, pr.ExpectEnd(ctx))
	require.NoError(t, p.Wait(ctx))
}

func TestMapAsyncOrderedAndUnordered(t *testing.T) {
	for _, ordered := range []bool{true, false} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			gates := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
			f := func(ctx context.Context, x int) (int, error) {
				select {
				case <-gates[x]:
					return x * 10, nil
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
			flow := MapAsync(3, f)
			if !ordered {
				flow = MapAsyncUnordered(3, f)
			}
			pr, p := startProbe(t, Via(FromSlice([]int{0, 1, 2}), flow), Config{})
			pr.Request(3)
			close(gates[2])
			if !ordered {
				require.Equal(t, 20, next(t, pr), "unordered: first ready, first out")
			}
			close(gates[1])
			if !ordered {
				require.Equal(t, 10, next(t, pr))
			}
			close(gates[0])
			if ordered {
				for _, want := range []int{0, 10, 20} {
					require.Equal(t, want, next(t, pr), "ordered: input order")
				}
			} else {
				require.Equal(t, 0, next(t, pr))
			}
			require.NoError(t, pr.ExpectEnd(testContext(t)))
			require.NoError(t, p.Wait(testContext(t)))
		})
	}
}

func TestMapAsyncBoundsParallelism(t *testing.T) {
	var now, most atomic.Int64
	three := make(chan struct{}) // closed once three calls are in flight
	f := func(ctx context.Context, x int) (int, error) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == 3 && x < 3 {
			close(three)
		}
		if x < 3 { // the first three wait for each other: all three run at once
			select {
			case <-three:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		return x, nil
	}
	var c collector[int]
	require.NoError(t, run(t, newSystem(t), Via(FromSlice(ints(200)), MapAsync(3, f)).To(c.sink()), Config{}))
	require.Equal(t, ints(200), c.get())
	require.Equal(t, int64(3), most.Load(), "parallelism reaches its bound and never passes it")
}

var errOdd = errors.New("odd")

func TestSupervision(t *testing.T) {
	sys := newSystem(t)
	failOdd := func(x int) (int, error) {
		if x%2 == 1 {
			return 0, errOdd
		}
		return x, nil
	}
	// Stop (the default): the pipeline fails with the stage's error.
	err := run(t, sys, Via(FromSlice(ints(10)), MapErr(failOdd)).To(Ignore[int]()), Config{})
	require.ErrorIs(t, err, errOdd)
	var se *StageError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "1-map", se.Stage)

	// Resume: failing elements are dropped and counted.
	var c collector[int]
	p, err := Via(FromSlice(ints(10)), MapErr(failOdd, Supervise(ResumeAlways))).To(c.sink()).Run(testContext(t), sys)
	require.NoError(t, err)
	require.NoError(t, p.Wait(testContext(t)))
	require.Equal(t, []int{0, 2, 4, 6, 8}, c.get())
	require.Equal(t, uint64(5), stageStats(p, 1).Errors)

	// A panic is an error like any other.
	c = collector[int]{}
	boom := Map(func(x int) int {
		if x == 3 {
			panic("three")
		}
		return x
	}, Supervise(func(err error) Directive {
		var pe *PanicError
		if errors.As(err, &pe) {
			return Resume
		}
		return Stop
	}), Name("boom"))
	p, err = Via(FromSlice(ints(5)), boom).To(c.sink()).Run(testContext(t), sys)
	require.NoError(t, err)
	require.NoError(t, p.Wait(testContext(t)))
	require.Equal(t, []int{0, 1, 2, 4}, c.get())
	st, ok := p.Stage("boom")
	require.True(t, ok)
	require.Equal(t, uint64(1), st.Errors)

	// A decider that panics means Stop.
	err = run(t, sys, Via(FromSlice(ints(5)), MapErr(failOdd, Supervise(func(error) Directive { panic("no") }))).To(Ignore[int]()), Config{})
	require.ErrorIs(t, err, errOdd)
}

func TestBadInputIsAnErrorNotAPanic(t *testing.T) {
	sys := newSystem(t)
	ctx := testContext(t)
	graphs := map[string]Graph{
		"nil map":          Via(FromSlice(ints(1)), Map[int, int](nil)).To(Ignore[int]()),
		"nil filter":       FromSlice(ints(1)).Via(Filter[int](nil)).To(Ignore[int]()),
		"nil flatMap":      Via(FromSlice(ints(1)), FlatMap[int, int](nil)).To(Ignore[int]()),
		"nil keyBy":        Via(FromSlice(ints(1)), KeyBy[int, int](nil)).To(Ignore[Keyed[int, int]]()),
		"nil generate":     Generate[int](nil).To(Ignore[int]()),
		"nil chan":         FromChan[int](nil).To(Ignore[int]()),
		"nil sink func":    FromSlice(ints(1)).To(ForEach[int](nil)),
		"nil sink chan":    FromSlice(ints(1)).To(ToChan[int](nil)),
		"zero source":      Source[int]{}.To(Ignore[int]()),
		"zero sink":        FromSlice(ints(1)).To(Sink[int]{}),
		"zero flow":        FromSlice(ints(1)).Via(Flow[int, int]{}).To(Ignore[int]()),
		"zero parallelism": Via(FromSlice(ints(1)), MapAsync(0, func(context.Context, int) (int, error) { return 0, nil })).To(Ignore[int]()),
		"zero batch":       Via(FromSlice(ints(1)), Batch[int](0, 0)).To(Ignore[[]int]()),
		"negative within":  Via(FromSlice(ints(1)), Batch[int](1, -1)).To(Ignore[[]int]()),
		"zero throttle":    FromSlice(ints(1)).Via(Throttle[int](0, time.Second)).To(Ignore[int]()),
		"zero buffer":      FromSlice(ints(1)).Via(Buffer[int](0, OverflowDropOldest)).To(Ignore[int]()),
		"bad overflow":     FromSlice(ints(1)).Via(Buffer[int](1, Overflow(42))).To(Ignore[int]()),
		"zero ticker":      Ticker(0).To(Ignore[time.Time]()),
		"no merge":         Merge[int]().To(Ignore[int]()),
		"no broadcast":     FromSlice(ints(1)).To(Broadcast[int]()),
		"nil decider":      FromSlice(ints(1)).To(Ignore[int](Supervise(nil))),
		"nil inbox":        FromInbox[int](nil).To(Ignore[int]()),
		"zero graph":       {},
	}
	for name, g := range graphs {
		_, err := g.Run(ctx, sys)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	_, err := FromSlice(ints(1)).To(Ignore[int]()).RunWith(ctx, sys, Config{Batch: -1})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = FromSlice(ints(1)).To(Ignore[int]()).Run(ctx, nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = NewInbox[int](0, OverflowBackpressure)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestInbox(t *testing.T) {
	ctx := testContext(t)
	inbox, err := NewInbox[int](4, OverflowBackpressure)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		ok, err := inbox.TryOffer(i)
		require.True(t, ok)
		require.NoError(t, err)
	}
	ok, err := inbox.TryOffer(4)
	require.False(t, ok, "full: a handler must not wait")
	require.NoError(t, err)
	offered := make(chan error, 1)
	go func() { offered <- inbox.Offer(ctx, 4) }() // waits for room: backpressure
	pr, p := startProbe(t, FromInbox(inbox), Config{})
	pr.Request(5)
	var got []int
	for i := 0; i < 5; i++ {
		got = append(got, next(t, pr))
	}
	require.NoError(t, <-offered)
	sort.Ints(got)
	require.Equal(t, ints(5), got)
	require.ErrorIs(t, run(t, newSystem(t), FromInbox(inbox).To(Ignore[int]()), Config{}), ErrInvalid, "one run at a time")
	inbox.Close()
	require.ErrorIs(t, inbox.Offer(ctx, 9), ErrInboxClosed)
	require.NoError(t, pr.ExpectEnd(ctx))
	require.NoError(t, p.Wait(ctx))

	drop, err := NewInbox[int](2, OverflowDropOldest)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.NoError(t, drop.Offer(ctx, i))
	}
	require.Equal(t, uint64(8), drop.Dropped())
	drop.Close()
	var c collector[int]
	require.NoError(t, run(t, newSystem(t), FromInbox(drop).To(c.sink()), Config{}))
	require.Equal(t, []int{8, 9}, c.get(), "drop-oldest keeps the newest")

	fail, err := NewInbox[int](1, OverflowFail)
	require.NoError(t, err)
	require.NoError(t, fail.Offer(ctx, 1))
	require.ErrorIs(t, fail.Offer(ctx, 2), ErrBufferOverflow)
	err = run(t, newSystem(t), FromInbox(fail).To(Ignore[int]()), Config{})
	require.ErrorIs(t, err, ErrBufferOverflow)
}
