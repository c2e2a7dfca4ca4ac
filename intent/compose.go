package intent

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
)

// Requester sends one intent and waits for its reply. The runtime's nodes
// implement it; this package composes intents over it without depending on
// the runtime. Request must be safe for concurrent use (Parallel and FanOut
// call it from several goroutines) and should return promptly with
// ctx.Err() once ctx is done.
type Requester interface {
	Request(ctx context.Context, msg proto.Message) (proto.Message, error)
}

// RequesterFunc adapts a function to Requester.
type RequesterFunc func(ctx context.Context, msg proto.Message) (proto.Message, error)

// Request calls f(ctx, msg).
func (f RequesterFunc) Request(ctx context.Context, msg proto.Message) (proto.Message, error) {
	return f(ctx, msg)
}

// Step is one intent of a composition, named so that its result and error
// can be attributed to it.
type Step struct {
	// Name identifies the step in its Result and StepError.
	Name string
	// Intent is the message to send.
	Intent proto.Message
}

// Stage is a step of a Pipeline whose intent is built from the reply of the
// step before it.
type Stage struct {
	// Name identifies the stage in its Result and StepError.
	Name string
	// Next builds the stage's intent from the previous step's reply. An
	// error fails the stage without sending anything.
	Next func(prev proto.Message) (proto.Message, error)
}

// Result is the outcome of one step of a composition.
type Result struct {
	// Step is the step's name.
	Step string
	// Index is the step's position in the composition, from 0.
	Index int
	// Reply is the step's reply; nil if it failed or was skipped.
	Reply proto.Message
	// Err is why the step failed; nil if it succeeded or was skipped.
	Err error
	// Skipped reports that the step never ran (an earlier step failed, or it
	// is the branch Conditional did not take).
	Skipped bool
}

// StepError attributes a composition's failure to one step.
type StepError struct {
	// Step is the failed step's name.
	Step string
	// Index is the failed step's position, from 0.
	Index int
	// Err is the step's error.
	Err error
}

// Error returns `intent: step 2 "charge": <err>`.
func (e *StepError) Error() string {
	return fmt.Sprintf("intent: step %d %q: %v", e.Index, e.Step, e.Err)
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// errNoRequester is returned by the compositions when given a nil Requester.
var errNoRequester = errors.New("intent: composition needs a Requester")

// Sequential sends the steps one after another and stops at the first
// failure. It returns one Result per step, in order; the steps after a
// failure are reported Skipped. The error is nil or the failed step's
// *StepError. A step whose turn comes after ctx is done fails with
// ctx.Err() without being sent.
func Sequential(ctx context.Context, r Requester, steps ...Step) ([]Result, error) {
	results := pending(steps)
	if r == nil {
		skipFrom(results, 0)
		return results, errNoRequester
	}
	for i, s := range steps {
		if err := send(ctx, r, &results[i], s.Intent); err != nil {
			skipFrom(results, i+1)
			return results, err
		}
	}
	return results, nil
}

// Parallel sends all steps at once, each from its own goroutine, and waits
// for every one of them before it returns. It returns one Result per step,
// in step order. The error joins (errors.Join) the *StepError of every
// failed step in step order, and is nil if none failed. A step that starts
// after ctx is done fails with ctx.Err() without being sent.
func Parallel(ctx context.Context, r Requester, steps ...Step) ([]Result, error) {
	results := pending(steps)
	if r == nil {
		skipFrom(results, 0)
		return results, errNoRequester
	}
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() { _ = send(ctx, r, &results[i], s.Intent) })
	}
	wg.Wait()
	var errs []error
	for i := range results {
		if results[i].Err != nil {
			errs = append(errs, stepError(&results[i]))
		}
	}
	return results, errors.Join(errs...)
}

// FanOut is Parallel over intents, naming the steps name[0], name[1], ...
func FanOut(ctx context.Context, r Requester, name string, intents ...proto.Message) ([]Result, error) {
	steps := make([]Step, len(intents))
	for i, msg := range intents {
		steps[i] = Step{Name: fmt.Sprintf("%s[%d]", name, i), Intent: msg}
	}
	return Parallel(ctx, r, steps...)
}

// Pipeline sends first, then for each stage in turn builds the stage's
// intent from the previous reply (Stage.Next) and sends it. Results are
// indexed first = 0, stages from 1. The first failure stops the pipeline
// and is returned as a *StepError naming the stage — whether its Next or its
// request failed; later stages are reported Skipped. A stage whose turn
// comes after ctx is done fails with ctx.Err() without calling Next.
func Pipeline(ctx context.Context, r Requester, first Step, stages ...Stage) ([]Result, error) {
	results := make([]Result, 1+len(stages))
	results[0] = Result{Step: first.Name, Index: 0}
	for i, s := range stages {
		results[1+i] = Result{Step: s.Name, Index: 1 + i}
	}
	if r == nil {
		skipFrom(results, 0)
		return results, errNoRequester
	}
	if err := send(ctx, r, &results[0], first.Intent); err != nil {
		skipFrom(results, 1)
		return results, err
	}
	for i, s := range stages {
		res := &results[1+i]
		msg, err := nextIntent(ctx, s, results[i].Reply)
		if err != nil {
			res.Err = err
			skipFrom(results, 2+i)
			return results, stepError(res)
		}
		if err := send(ctx, r, res, msg); err != nil {
			skipFrom(results, 2+i)
			return results, err
		}
	}
	return results, nil
}

// Conditional sends cond and, if it succeeds, sends then when pred accepts
// cond's result and otherwise when it does not. Results are always three:
// cond (0), then (1), otherwise (2); the branch not taken is reported
// Skipped. If cond fails, pred is not called, both branches are Skipped and
// the error is cond's *StepError; if the chosen branch fails, the error is
// its *StepError.
func Conditional(ctx context.Context, r Requester, cond Step, pred func(Result) bool, then, otherwise Step) ([]Result, error) {
	results := pending([]Step{cond, then, otherwise})
	switch {
	case r == nil:
		skipFrom(results, 0)
		return results, errNoRequester
	case pred == nil:
		skipFrom(results, 0)
		return results, errors.New("intent: Conditional needs a predicate")
	}
	if err := send(ctx, r, &results[0], cond.Intent); err != nil {
		skipFrom(results, 1)
		return results, err
	}
	taken, other := 1, 2
	if !pred(results[0]) {
		taken, other = 2, 1
	}
	results[other].Skipped = true
	branch := then
	if taken == 2 {
		branch = otherwise
	}
	if err := send(ctx, r, &results[taken], branch.Intent); err != nil {
		return results, err
	}
	return results, nil
}

// pending returns one not-yet-run Result per step.
func pending(steps []Step) []Result {
	results := make([]Result, len(steps))
	for i, s := range steps {
		results[i] = Result{Step: s.Name, Index: i}
	}
	return results
}

// send runs one step into res, returning its *StepError on failure.
func send(ctx context.Context, r Requester, res *Result, msg proto.Message) error {
	if err := ctx.Err(); err != nil {
		res.Err = err
		return stepError(res)
	}
	reply, err := r.Request(ctx, msg)
	if err != nil {
		res.Err = err
		return stepError(res)
	}
	res.Reply = reply
	return nil
}

// nextIntent builds a stage's intent, unless ctx is already done.
func nextIntent(ctx context.Context, s Stage, prev proto.Message) (proto.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.Next == nil {
		return nil, errors.New("intent: pipeline stage has no Next")
	}
	return s.Next(prev)
}

// skipFrom marks results[from:] as skipped.
func skipFrom(results []Result, from int) {
	for i := from; i < len(results); i++ {
		results[i].Skipped = true
	}
}

func stepError(res *Result) *StepError {
	return &StepError{Step: res.Step, Index: res.Index, Err: res.Err}
}
