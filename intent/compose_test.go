package intent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fakeRequester answers a StringValue intent "x" with "re:x", or with the
// error configured for "x", and records what it was sent.
type fakeRequester struct {
	fail map[string]error
	// before, if set, runs at the start of every request.
	before func(ctx context.Context, value string) error

	mu   sync.Mutex
	sent []string
}

func (f *fakeRequester) Request(ctx context.Context, msg proto.Message) (proto.Message, error) {
	v := msg.(*wrapperspb.StringValue).GetValue()
	f.mu.Lock()
	f.sent = append(f.sent, v)
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(ctx, v); err != nil {
			return nil, err
		}
	}
	if err := f.fail[v]; err != nil {
		return nil, err
	}
	return wrapperspb.String("re:" + v), nil
}

func (f *fakeRequester) sentValues() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func step(name, value string) Step { return Step{Name: name, Intent: wrapperspb.String(value)} }

// outcome is a Result in comparable form.
type outcome struct {
	Step    string
	Index   int
	Reply   string // the reply's value
	Err     string
	Skipped bool
}

func outcomes(results []Result) []outcome {
	out := make([]outcome, len(results))
	for i, r := range results {
		out[i] = outcome{Step: r.Step, Index: r.Index, Skipped: r.Skipped}
		if r.Reply != nil {
			out[i].Reply = r.Reply.(*wrapperspb.StringValue).GetValue()
		}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out
}

var (
	errDeclined   = errors.New("card declined")
	errOutOfStock = errors.New("out of stock")
)

func TestComposeStepError(t *testing.T) {
	err := &StepError{Step: "charge", Index: 2, Err: errDeclined}
	require.EqualError(t, err, `intent: step 2 "charge": card declined`)
	require.ErrorIs(t, err, errDeclined)
}

func TestSequential(t *testing.T) {
	defer goleak.VerifyNone(t)
	steps := []Step{step("reserve", "r"), step("charge", "c"), step("ship", "s")}
	tests := []struct {
		name     string
		fail     map[string]error
		want     []outcome
		wantSent []string
		wantErr  string
	}{
		{
			name: "every step runs in order",
			want: []outcome{
				{Step: "reserve", Index: 0, Reply: "re:r"},
				{Step: "charge", Index: 1, Reply: "re:c"},
				{Step: "ship", Index: 2, Reply: "re:s"},
			},
			wantSent: []string{"r", "c", "s"},
		},
		{
			name: "a failure stops the rest",
			fail: map[string]error{"c": errDeclined},
			want: []outcome{
				{Step: "reserve", Index: 0, Reply: "re:r"},
				{Step: "charge", Index: 1, Err: "card declined"},
				{Step: "ship", Index: 2, Skipped: true},
			},
			wantSent: []string{"r", "c"},
			wantErr:  `intent: step 1 "charge": card declined`,
		},
		{
			name: "a failing first step skips everything",
			fail: map[string]error{"r": errOutOfStock},
			want: []outcome{
				{Step: "reserve", Index: 0, Err: "out of stock"},
				{Step: "charge", Index: 1, Skipped: true},
				{Step: "ship", Index: 2, Skipped: true},
			},
			wantSent: []string{"r"},
			wantErr:  `intent: step 0 "reserve": out of stock`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRequester{fail: tt.fail}
			results, err := Sequential(context.Background(), r, steps...)
			require.Equal(t, tt.want, outcomes(results))
			require.Equal(t, tt.wantSent, r.sentValues())
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			var se *StepError
			require.ErrorAs(t, err, &se)
			require.Equal(t, results[se.Index].Step, se.Step)
			require.ErrorIs(t, err, results[se.Index].Err)
		})
	}

	t.Run("no steps", func(t *testing.T) {
		results, err := Sequential(context.Background(), &fakeRequester{})
		require.NoError(t, err)
		require.Empty(t, results)
	})
}

func TestSequentialContextDone(t *testing.T) {
	defer goleak.VerifyNone(t)
	steps := []Step{step("reserve", "r"), step("charge", "c"), step("ship", "s")}

	t.Run("cancelled before the first step", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := &fakeRequester{}
		results, err := Sequential(ctx, r, steps...)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, []outcome{
			{Step: "reserve", Index: 0, Err: "context canceled"},
			{Step: "charge", Index: 1, Skipped: true},
			{Step: "ship", Index: 2, Skipped: true},
		}, outcomes(results))
		require.Empty(t, r.sentValues())
	})

	t.Run("cancelled during a step fails the next", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &fakeRequester{before: func(_ context.Context, v string) error {
			if v == "r" {
				cancel()
			}
			return nil
		}}
		results, err := Sequential(ctx, r, steps...)
		require.EqualError(t, err, `intent: step 1 "charge": context canceled`)
		require.Equal(t, []outcome{
			{Step: "reserve", Index: 0, Reply: "re:r"},
			{Step: "charge", Index: 1, Err: "context canceled"},
			{Step: "ship", Index: 2, Skipped: true},
		}, outcomes(results))
		require.Equal(t, []string{"r"}, r.sentValues())
	})
}

// barrier returns a request hook that holds every request until n requests
// are in flight at once, failing a request if that does not happen before
// the deadline.
func barrier(n int, deadline time.Duration) func(context.Context, string) error {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	timeout := time.After(deadline)
	return func(ctx context.Context, _ string) error {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("only %d of %d requests ran concurrently", arrived, n)
		}
	}
}

func TestParallel(t *testing.T) {
	defer goleak.VerifyNone(t)

	t.Run("all steps are in flight at once", func(t *testing.T) {
		const n = 8
		var steps []Step
		var want []outcome
		for i := range n {
			v := fmt.Sprint(i)
			steps = append(steps, step("s"+v, v))
			want = append(want, outcome{Step: "s" + v, Index: i, Reply: "re:" + v})
		}
		r := &fakeRequester{before: barrier(n, 10*time.Second)}
		results, err := Parallel(context.Background(), r, steps...)
		require.NoError(t, err)
		require.Equal(t, want, outcomes(results))
	})

	t.Run("every failure is reported, attributed to its step", func(t *testing.T) {
		r := &fakeRequester{fail: map[string]error{"c": errDeclined, "s": errOutOfStock}}
		results, err := Parallel(context.Background(), r,
			step("reserve", "r"), step("charge", "c"), step("notify", "n"), step("ship", "s"))
		require.Equal(t, []outcome{
			{Step: "reserve", Index: 0, Reply: "re:r"},
			{Step: "charge", Index: 1, Err: "card declined"},
			{Step: "notify", Index: 2, Reply: "re:n"},
			{Step: "ship", Index: 3, Err: "out of stock"},
		}, outcomes(results))
		require.ElementsMatch(t, []string{"r", "c", "n", "s"}, r.sentValues())
		require.EqualError(t, err, "intent: step 1 \"charge\": card declined\nintent: step 3 \"ship\": out of stock")
		require.ErrorIs(t, err, errDeclined)
		require.ErrorIs(t, err, errOutOfStock)
		joined, ok := err.(interface{ Unwrap() []error })
		require.True(t, ok, "the error is an errors.Join")
		var indexes []int
		for _, e := range joined.Unwrap() {
			var se *StepError
			require.ErrorAs(t, e, &se)
			indexes = append(indexes, se.Index)
		}
		require.Equal(t, []int{1, 3}, indexes)
	})

	t.Run("a done context fails every step unsent", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := &fakeRequester{}
		results, err := Parallel(ctx, r, step("a", "a"), step("b", "b"))
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, []outcome{
			{Step: "a", Index: 0, Err: "context canceled"},
			{Step: "b", Index: 1, Err: "context canceled"},
		}, outcomes(results))
		require.Empty(t, r.sentValues())
	})

	t.Run("every request has returned when Parallel does", func(t *testing.T) {
		slowStarted, fastAnswered := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		finished := map[string]bool{}
		r := &fakeRequester{before: func(ctx context.Context, v string) error {
			if v == "slow" {
				close(slowStarted)
				<-ctx.Done() // held until the test cancels
			}
			mu.Lock()
			finished[v] = true
			mu.Unlock()
			if v == "fast" {
				close(fastAnswered)
			}
			return ctx.Err()
		}}
		ctx, cancel := context.WithCancel(context.Background())
		returned := make(chan []Result)
		go func() {
			res, _ := Parallel(ctx, r, step("fast", "fast"), step("slow", "slow"))
			returned <- res
		}()
		<-slowStarted
		<-fastAnswered
		select {
		case <-returned:
			t.Fatal("Parallel returned while a step was still running")
		default:
		}
		cancel()
		res := <-returned
		mu.Lock()
		require.Equal(t, map[string]bool{"fast": true, "slow": true}, finished)
		mu.Unlock()
		require.Equal(t, "context canceled", outcomes(res)[1].Err)
	})

	t.Run("no steps", func(t *testing.T) {
		results, err := Parallel(context.Background(), &fakeRequester{})
		require.NoError(t, err)
		require.Empty(t, results)
	})
}

func TestFanOut(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := &fakeRequester{fail: map[string]error{"b": errOutOfStock}, before: barrier(3, 10*time.Second)}
	results, err := FanOut(context.Background(), r, "notify",
		wrapperspb.String("a"), wrapperspb.String("b"), wrapperspb.String("c"))
	require.Equal(t, []outcome{
		{Step: "notify[0]", Index: 0, Reply: "re:a"},
		{Step: "notify[1]", Index: 1, Err: "out of stock"},
		{Step: "notify[2]", Index: 2, Reply: "re:c"},
	}, outcomes(results))
	require.EqualError(t, err, `intent: step 1 "notify[1]": out of stock`)
}

// appendStage builds its intent by appending suffix to the previous reply.
func appendStage(name, suffix string) Stage {
	return Stage{Name: name, Next: func(prev proto.Message) (proto.Message, error) {
		return wrapperspb.String(prev.(*wrapperspb.StringValue).GetValue() + suffix), nil
	}}
}

func TestPipeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	errNoQuote := errors.New("no quote in reply")
	tests := []struct {
		name     string
		stages   []Stage
		fail     map[string]error
		want     []outcome
		wantSent []string
		wantErr  string
	}{
		{
			name:   "each stage builds on the previous reply",
			stages: []Stage{appendStage("price", "+p"), appendStage("order", "+o")},
			want: []outcome{
				{Step: "quote", Index: 0, Reply: "re:q"},
				{Step: "price", Index: 1, Reply: "re:re:q+p"},
				{Step: "order", Index: 2, Reply: "re:re:re:q+p+o"},
			},
			wantSent: []string{"q", "re:q+p", "re:re:q+p+o"},
		},
		{
			name: "a failing Next is the stage's error",
			stages: []Stage{
				appendStage("price", "+p"),
				{Name: "order", Next: func(proto.Message) (proto.Message, error) { return nil, errNoQuote }},
				appendStage("ship", "+s"),
			},
			want: []outcome{
				{Step: "quote", Index: 0, Reply: "re:q"},
				{Step: "price", Index: 1, Reply: "re:re:q+p"},
				{Step: "order", Index: 2, Err: "no quote in reply"},
				{Step: "ship", Index: 3, Skipped: true},
			},
			wantSent: []string{"q", "re:q+p"},
			wantErr:  `intent: step 2 "order": no quote in reply`,
		},
		{
			name:   "a failing request is the stage's error",
			stages: []Stage{appendStage("price", "+p"), appendStage("order", "+o")},
			fail:   map[string]error{"re:q+p": errDeclined},
			want: []outcome{
				{Step: "quote", Index: 0, Reply: "re:q"},
				{Step: "price", Index: 1, Err: "card declined"},
				{Step: "order", Index: 2, Skipped: true},
			},
			wantSent: []string{"q", "re:q+p"},
			wantErr:  `intent: step 1 "price": card declined`,
		},
		{
			name:   "a failing first step skips every stage",
			stages: []Stage{appendStage("price", "+p")},
			fail:   map[string]error{"q": errOutOfStock},
			want: []outcome{
				{Step: "quote", Index: 0, Err: "out of stock"},
				{Step: "price", Index: 1, Skipped: true},
			},
			wantSent: []string{"q"},
			wantErr:  `intent: step 0 "quote": out of stock`,
		},
		{
			name:   "a stage without Next",
			stages: []Stage{{Name: "broken"}},
			want: []outcome{
				{Step: "quote", Index: 0, Reply: "re:q"},
				{Step: "broken", Index: 1, Err: "intent: pipeline stage has no Next"},
			},
			wantSent: []string{"q"},
			wantErr:  `intent: step 1 "broken": intent: pipeline stage has no Next`,
		},
		{
			name:     "no stages",
			want:     []outcome{{Step: "quote", Index: 0, Reply: "re:q"}},
			wantSent: []string{"q"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRequester{fail: tt.fail}
			results, err := Pipeline(context.Background(), r, step("quote", "q"), tt.stages...)
			require.Equal(t, tt.want, outcomes(results))
			require.Equal(t, tt.wantSent, r.sentValues())
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			var se *StepError
			require.ErrorAs(t, err, &se)
		})
	}

	t.Run("a done context stops before Next", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		called := false
		r := &fakeRequester{before: func(context.Context, string) error { cancel(); return nil }}
		results, err := Pipeline(ctx, r, step("quote", "q"),
			Stage{Name: "price", Next: func(proto.Message) (proto.Message, error) { called = true; return nil, nil }})
		require.EqualError(t, err, `intent: step 1 "price": context canceled`)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, called)
		require.Equal(t, []outcome{
			{Step: "quote", Index: 0, Reply: "re:q"},
			{Step: "price", Index: 1, Err: "context canceled"},
		}, outcomes(results))
	})
}

func TestConditional(t *testing.T) {
	defer goleak.VerifyNone(t)
	inStock := func(r Result) bool { return r.Reply.(*wrapperspb.StringValue).GetValue() == "re:in-stock" }
	tests := []struct {
		name     string
		cond     string
		fail     map[string]error
		want     []outcome
		wantSent []string
		wantErr  string
	}{
		{
			name: "predicate true takes then",
			cond: "in-stock",
			want: []outcome{
				{Step: "check", Index: 0, Reply: "re:in-stock"},
				{Step: "ship", Index: 1, Reply: "re:ship"},
				{Step: "backorder", Index: 2, Skipped: true},
			},
			wantSent: []string{"in-stock", "ship"},
		},
		{
			name: "predicate false takes otherwise",
			cond: "sold-out",
			want: []outcome{
				{Step: "check", Index: 0, Reply: "re:sold-out"},
				{Step: "ship", Index: 1, Skipped: true},
				{Step: "backorder", Index: 2, Reply: "re:backorder"},
			},
			wantSent: []string{"sold-out", "backorder"},
		},
		{
			name: "a failing condition takes neither branch",
			cond: "in-stock",
			fail: map[string]error{"in-stock": errOutOfStock},
			want: []outcome{
				{Step: "check", Index: 0, Err: "out of stock"},
				{Step: "ship", Index: 1, Skipped: true},
				{Step: "backorder", Index: 2, Skipped: true},
			},
			wantSent: []string{"in-stock"},
			wantErr:  `intent: step 0 "check": out of stock`,
		},
		{
			name: "a failing branch is attributed to it",
			cond: "sold-out",
			fail: map[string]error{"backorder": errDeclined},
			want: []outcome{
				{Step: "check", Index: 0, Reply: "re:sold-out"},
				{Step: "ship", Index: 1, Skipped: true},
				{Step: "backorder", Index: 2, Err: "card declined"},
			},
			wantSent: []string{"sold-out", "backorder"},
			wantErr:  `intent: step 2 "backorder": card declined`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRequester{fail: tt.fail}
			var seen []Result
			pred := func(res Result) bool {
				seen = append(seen, res)
				return inStock(res)
			}
			results, err := Conditional(context.Background(), r, step("check", tt.cond), pred,
				step("ship", "ship"), step("backorder", "backorder"))
			require.Equal(t, tt.want, outcomes(results))
			require.Equal(t, tt.wantSent, r.sentValues())
			if tt.want[0].Err != "" {
				require.Empty(t, seen, "the predicate is not asked about a failed condition")
			} else {
				require.Equal(t, outcomes(results[:1]), outcomes(seen), "the predicate sees the condition's result")
			}
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}

	t.Run("no predicate", func(t *testing.T) {
		r := &fakeRequester{}
		results, err := Conditional(context.Background(), r, step("check", "c"), nil, step("a", "a"), step("b", "b"))
		require.EqualError(t, err, "intent: Conditional needs a predicate")
		require.Len(t, results, 3)
		require.Empty(t, r.sentValues())
	})
}

func TestComposeWithoutRequester(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func() ([]Result, error){
		"Sequential": func() ([]Result, error) { return Sequential(ctx, nil, step("a", "a")) },
		"Parallel":   func() ([]Result, error) { return Parallel(ctx, nil, step("a", "a")) },
		"FanOut":     func() ([]Result, error) { return FanOut(ctx, nil, "a", wrapperspb.String("a")) },
		"Pipeline":   func() ([]Result, error) { return Pipeline(ctx, nil, step("a", "a"), appendStage("b", "b")) },
		"Conditional": func() ([]Result, error) {
			return Conditional(ctx, nil, step("a", "a"), func(Result) bool { return true }, step("b", "b"), step("c", "c"))
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			results, err := call()
			require.EqualError(t, err, "intent: composition needs a Requester")
			require.NotEmpty(t, results)
			for _, r := range results {
				require.True(t, r.Skipped)
			}
		})
	}
}

func TestComposeRequesterFunc(t *testing.T) {
	var r Requester = RequesterFunc(func(_ context.Context, msg proto.Message) (proto.Message, error) {
		return msg, nil
	})
	in := wrapperspb.String("x")
	out, err := r.Request(context.Background(), in)
	require.NoError(t, err)
	require.Same(t, in, out)
}
