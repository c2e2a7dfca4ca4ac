package supervision_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/supervision"
)

// work asks a chaos worker for its count after one more unit of work.
type work struct{ reply chan int }

// chaosWorker counts work; a failure adds 1000 first (the failing
// handler's half-done work), so a count ≥ 1000 would be a failed
// handler's state made visible.
type chaosWorker struct{ count int }

func (w *chaosWorker) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case work:
		w.count++
		m.reply <- w.count
	case failMsg:
		w.count += 1000
		panic(m.err)
	}
}

// A supervision tree under load with seeded random handler panics and
// actor stops: every request is answered, or refused (its actor was
// stopping), before its deadline; no failed handler's state is ever
// visible; each failure and each stop restarts exactly the children its
// supervisor's strategy names.
func TestTreeUnderChaos(t *testing.T) {
	const seed = 20261128
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	system := newSystem(t)
	w := func(name string) supervision.Child {
		return supervision.Child{Name: name, New: func() protoactor.Actor { return &chaosWorker{} }}
	}
	lots := supervision.Intensity{MaxRestarts: 1 << 20, Within: time.Minute}
	spec := supervision.Spec{Name: "root", Strategy: supervision.Strategy{Intensity: lots}, Children: []supervision.Child{
		{Name: "rest", Supervisor: &supervision.Spec{Name: "rest",
			Strategy: supervision.Strategy{Kind: supervision.RestForOne, Intensity: lots},
			Children: []supervision.Child{w("a"), w("b"), w("c")}}},
		{Name: "all", Supervisor: &supervision.Spec{Name: "all",
			Strategy: supervision.Strategy{Kind: supervision.AllForOne, Intensity: lots},
			Children: []supervision.Child{w("x"), w("y")}}},
		w("solo"),
	}}
	tree, err := supervision.Start(system, spec, supervision.Options{Seed: seed})
	require.NoError(t, err)
	var mu sync.Mutex
	bySupervisor := map[string][]supervision.Event{}
	tree.Subscribe(func(e supervision.Event) {
		mu.Lock()
		bySupervisor[e.Supervisor] = append(bySupervisor[e.Supervisor], e)
		mu.Unlock()
	})
	workers := []string{"root/rest/a", "root/rest/b", "root/rest/c", "root/all/x", "root/all/y", "root/solo"}
	// pid waits for the current incarnation of worker p (a stopped worker
	// is respawned with a new pid).
	pid := func(p string) *protoactor.PID {
		for {
			if pid, ok := tree.PID(p); ok {
				return pid
			}
			time.Sleep(100 * time.Microsecond)
		}
	}

	const senders, perSender, failures, stops = 4, 500, 150, 30
	const deadline = 500 * time.Millisecond
	var answered, stranded, late, leaked atomic.Int64
	var wg sync.WaitGroup
	for s := range senders {
		srng := rand.New(rand.NewPCG(seed, uint64(s)+2))
		wg.Go(func() {
			for range perSender {
				reply := make(chan int, 1)
				start := time.Now()
				system.Root.Send(pid(workers[srng.IntN(len(workers))]), work{reply})
				select {
				case n := <-reply:
					answered.Add(1)
					if n >= 1000 {
						leaked.Add(1)
					}
				case <-time.After(deadline):
					// Sent to an incarnation that stopped before it got
					// to the request: the caller's deadline answers.
					stranded.Add(1)
				}
				if time.Since(start) > deadline+time.Second {
					late.Add(1)
				}
			}
		})
	}
	var stopped int64
	for i := range failures + stops {
		target := pid(workers[rng.IntN(len(workers))])
		if i%((failures+stops)/stops) == 0 && stopped < stops {
			system.Root.Stop(target)
			stopped++
		} else {
			system.Root.Send(target, failMsg{errors.New("chaos")})
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
	wg.Wait()
	require.Eventually(t, func() bool { return tree.Stats().Failures == failures+stopped }, 5*time.Second, time.Millisecond,
		"every injected failure and stop was handled (stats %+v)", tree.Stats())

	require.Zero(t, late.Load(), "requests answered neither by the worker nor by their deadline")
	require.EqualValues(t, senders*perSender, answered.Load()+stranded.Load())
	require.LessOrEqual(t, stranded.Load(), stopped*senders, "only a stop strands requests: at most one per sender and stop")
	require.Zero(t, leaked.Load(), "answers that showed a failed handler's state")

	expected := map[string]map[string][]string{ // supervisor → failed child → restarted children
		"root/rest": {"root/rest/a": {"root/rest/a", "root/rest/b", "root/rest/c"}, "root/rest/b": {"root/rest/b", "root/rest/c"}, "root/rest/c": {"root/rest/c"}},
		"root/all":  {"root/all/x": {"root/all/x", "root/all/y"}, "root/all/y": {"root/all/x", "root/all/y"}},
		"root":      {"root/solo": {"root/solo"}},
	}
	mu.Lock()
	defer mu.Unlock()
	var restarts int64
	for sup, events := range bySupervisor {
		var failed string
		var got []string
		check := func() {
			if failed != "" {
				require.ElementsMatch(t, expected[sup][failed], got, "%s: children restarted after %s failed", sup, failed)
			}
		}
		for _, e := range events {
			switch e.Kind {
			case supervision.EventFailed:
				check()
				failed, got = e.Child, nil
			case supervision.EventRestarted:
				got = append(got, e.Child)
				restarts++
			case supervision.EventStarted:
				require.ErrorIs(t, events[slices.IndexFunc(events, func(x supervision.Event) bool { return x == e })-1].Reason,
					supervision.ErrStoppedOnItsOwn, "only a stopped worker is started again (a failed one restarts in place)")
			default:
				t.Fatalf("unexpected event %s", e)
			}
		}
		check()
		require.True(t, slices.Contains([]string{"root", "root/rest", "root/all"}, sup))
	}
	final := tree.Stats()
	require.EqualValues(t, restarts, final.Restarts)
	require.Zero(t, final.Escalation)
	t.Logf("%d requests answered, %d stranded by a stop; %d failures (%d of them stops), %d restarts",
		answered.Load(), stranded.Load(), final.Failures, stopped, final.Restarts)
	require.NoError(t, tree.Stop(5*time.Second))
}
