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

// A supervision tree under load with seeded random handler panics: every
// request is answered before its deadline, no failed handler's state is
// ever visible, and each failure restarts exactly the children its
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
	pids := map[string]*protoactor.PID{}
	for _, p := range workers {
		pid, ok := tree.PID(p)
		require.True(t, ok, p)
		pids[p] = pid
	}

	const senders, perSender, failures = 4, 500, 150
	var answered, late, leaked atomic.Int64
	var wg sync.WaitGroup
	for s := range senders {
		srng := rand.New(rand.NewPCG(seed, uint64(s)+2))
		wg.Go(func() {
			for range perSender {
				reply := make(chan int, 1)
				system.Root.Send(pids[workers[srng.IntN(len(workers))]], work{reply})
				select {
				case n := <-reply:
					answered.Add(1)
					if n >= 1000 {
						leaked.Add(1)
					}
				case <-time.After(2 * time.Second):
					late.Add(1)
				}
			}
		})
	}
	for range failures {
		system.Root.Send(pids[workers[rng.IntN(len(workers))]], failMsg{errors.New("chaos")})
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
	wg.Wait()
	st := tree.Stats()
	require.Eventually(t, func() bool { return tree.Stats().Failures == failures }, 5*time.Second, time.Millisecond,
		"every injected failure was handled (stats %+v)", st)

	require.Zero(t, late.Load(), "requests without an answer within 2 s")
	require.EqualValues(t, senders*perSender, answered.Load())
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
				require.Equal(t, expected[sup][failed], got, "%s: children restarted after %s failed", sup, failed)
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
	t.Logf("%d requests answered, %d failures, %d restarts", answered.Load(), final.Failures, final.Restarts)
	require.NoError(t, tree.Stop(5*time.Second))
}
