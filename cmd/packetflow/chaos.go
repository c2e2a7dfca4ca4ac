package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

// chaosConfig is `packetflow chaos`'s flags.
type chaosConfig struct {
	duration    time.Duration
	seed        uint64
	counters    int
	concurrency int
	panicRate   float64
	dropRate    float64
	netRate     float64
	timeout     time.Duration
	recovery    time.Duration
}

// runChaos runs the in-process chaos suite: three members on the test
// kit's in-memory network, state in one store they share (standing in for
// the replicated store), increments under seeded faults — handler panics
// at a rate, reactor instances stopped at random, intents between members
// dropped and delayed, a member partitioned away and healed (it rejoins by
// itself), a member killed and replaced — then checks the invariants. Exit 0 only when all hold; the
// same seed replays the same fault schedule.
func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "inject" || args[0] == "status") {
		return runChaosControl(ctx, args[0], args[1:], stdout, stderr)
	}
	c := chaosConfig{}
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long the load and the faults run")
	fs.Uint64Var(&c.seed, "seed", 0, "`seed` of the fault schedule, the panics and the load (default: from the clock; printed)")
	fs.IntVar(&c.counters, "counters", 20, "`N` counters to increment")
	fs.IntVar(&c.concurrency, "concurrency", 8, "`number` of concurrent senders")
	fs.Float64Var(&c.panicRate, "panic-rate", 0.05, "probability that an Increment's handler panics, 0 to 1")
	fs.Float64Var(&c.dropRate, "drop-rate", 0.002, "probability that an Increment is lost on its way to its handler (its caller's deadline answers), 0 to 1")
	fs.Float64Var(&c.netRate, "net-fault-rate", 0.01, "probability that an intent between members is dropped (its request or its reply, alike), and again that it is delayed by up to 50 ms, 0 to 1")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "deadline of each request; an answer must come before it (plus 1 s of slack)")
	fs.DurationVar(&c.recovery, "recovery-bound", 15*time.Second, "every counter must answer again within this `duration` after the faults end")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageFailure("chaos", fmt.Errorf("unexpected argument %q", fs.Arg(0)), stderr)
	case c.duration < 5*time.Second || c.duration > time.Hour:
		return usageFailure("chaos", errors.New("--duration must be between 5s and 1h"), stderr)
	case c.counters <= 0 || c.counters > 10000:
		return usageFailure("chaos", errors.New("--counters must be 1 to 10000"), stderr)
	case c.concurrency <= 0 || c.concurrency > 1000:
		return usageFailure("chaos", errors.New("--concurrency must be 1 to 1000"), stderr)
	case c.panicRate < 0 || c.panicRate > 1:
		return usageFailure("chaos", errors.New("--panic-rate must be within [0, 1]"), stderr)
	case c.dropRate < 0 || c.dropRate > 0.5:
		return usageFailure("chaos", errors.New("--drop-rate must be within [0, 0.5]"), stderr)
	case c.netRate < 0 || c.netRate > 0.5:
		return usageFailure("chaos", errors.New("--net-fault-rate must be within [0, 0.5]"), stderr)
	case c.timeout <= 0 || c.recovery <= 0:
		return usageFailure("chaos", errors.New("--timeout and --recovery-bound must be positive"), stderr)
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	fmt.Fprintf(stdout, "chaos: seed %d (replay with --seed %d)\n", c.seed, c.seed)
	ok, err := chaosSuite(ctx, c, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "packetflow chaos: %v\n", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// chaosCluster is the suite's members on one in-memory network.
type chaosCluster struct {
	net      *clustertest.Network
	shared   store.Store
	injector *fault.Injector
	logger   *slog.Logger

	mu    sync.Mutex
	nodes []*cluster.Node // live ones
	dead  []*cluster.Node // killed, stopped at the end
}

// start starts a member named name (a new process of a name that died
// replaces it: the cluster forgets the dead one), joining join.
func (cc *chaosCluster) start(ctx context.Context, name string, join []string) (*cluster.Node, error) {
	cfg := cc.net.PrepareNode(cluster.NodeConfig{
		Name:   name,
		Join:   join,
		Logger: cc.logger,
		Define: func(rt *actor.Runtime) error { return counter.Define(rt, nil) },
		Runtime: actor.Config{Store: cc.shared, Intercept: cc.injector.Intercept,
			CommitTimeout: 2 * time.Second, Logger: cc.logger},
	})
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	n, err := cluster.StartNode(sctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("starting member %s: %w", name, err)
	}
	cc.mu.Lock()
	cc.nodes = append(cc.nodes, n)
	cc.mu.Unlock()
	return n, nil
}

func (cc *chaosCluster) live() []*cluster.Node {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return append([]*cluster.Node(nil), cc.nodes...)
}

// restart kills the member named name (as SIGKILL would) and starts a new
// process of that name joining the others.
func (cc *chaosCluster) restart(ctx context.Context, name string) error {
	cc.mu.Lock()
	i := slices.IndexFunc(cc.nodes, func(n *cluster.Node) bool { return n.Local().Name == name })
	if i < 0 {
		cc.mu.Unlock()
		return fmt.Errorf("no live member %s", name)
	}
	n := cc.nodes[i]
	cc.nodes = slices.Delete(cc.nodes, i, i+1)
	cc.dead = append(cc.dead, n)
	var join []string
	for _, m := range cc.nodes {
		join = append(join, m.Local().Gossip)
	}
	cc.mu.Unlock()
	n.Kill()
	_, err := cc.start(ctx, name, join)
	return err
}

func (cc *chaosCluster) stop() {
	cc.mu.Lock()
	all := append(append([]*cluster.Node(nil), cc.nodes...), cc.dead...)
	cc.mu.Unlock()
	for _, n := range all {
		_ = n.Stop()
	}
}

// chaosTally is what the senders saw.
type chaosTally struct {
	mu      sync.Mutex
	ok      map[string]int64 // per counter
	unknown map[string]int64
	failed  map[string]int64 // by reason
	sent    int64
	late    []string // answers after deadline + slack: what and when
	slowest time.Duration
}

func chaosSuite(ctx context.Context, c chaosConfig, stdout io.Writer) (bool, error) {
	rng := rand.New(rand.NewPCG(c.seed, c.seed^0x5851f42d4c957f2d))
	cc := &chaosCluster{
		net: clustertest.NewNetwork(), shared: store.NewMemory(), injector: fault.New(c.seed),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	defer cc.stop()
	first, err := cc.start(ctx, "n1", nil)
	if err != nil {
		return false, err
	}
	for _, name := range []string{"n2", "n3"} {
		if _, err := cc.start(ctx, name, []string{first.Local().Gossip}); err != nil {
			return false, err
		}
	}
	if err := waitMembers(ctx, cc.live(), 3, 20*time.Second); err != nil {
		return false, err
	}

	// The fault schedule, drawn from the seed before anything runs.
	partitionAt := c.duration/5 + time.Duration(rng.Int64N(int64(c.duration/5)))
	// Long enough for the fast failure detector (about 1 s) to act.
	partitionFor := 3*time.Second + time.Duration(rng.Int64N(int64(c.duration/10)))
	killAt := c.duration/2 + time.Duration(rng.Int64N(int64(c.duration/5)))
	partitioned, killed := rng.IntN(3), rng.IntN(3)
	fmt.Fprintf(stdout, "chaos: 3 members, %d counters, %d senders, %v; faults: Increment handlers panic at rate %g; "+
		"Increments lost before their handler at rate %g; "+
		"intents between members dropped at rate %g and delayed at rate %g; "+
		"reactor instances stopped every 50-250 ms; "+
		"n%d partitioned away at %v for %v, then healed (it must rejoin by itself); n%d killed at %v and restarted\n",
		c.counters, c.concurrency, c.duration, c.panicRate, c.dropRate, c.netRate, c.netRate, partitioned+1, partitionAt.Round(time.Millisecond),
		partitionFor.Round(time.Millisecond), killed+1, killAt.Round(time.Millisecond))
	if err := cc.injector.Set(
		fault.Rule{Kind: "counter", Type: "Increment", Rate: c.panicRate, Action: fault.Panic},
		fault.Rule{Kind: "counter", Type: "Increment", Rate: c.dropRate, Action: fault.Drop},
	); err != nil {
		return false, err
	}

	var netMu sync.Mutex
	netRng := rand.New(rand.NewPCG(c.seed, c.seed^0x2545f4914f6cdd1d))
	var dropped, delayed atomic.Int64
	cc.net.SetIntentFaults(func(from, to string) clustertest.IntentFault {
		netMu.Lock()
		defer netMu.Unlock()
		var f clustertest.IntentFault
		if netRng.Float64() < c.netRate {
			if netRng.IntN(2) == 0 {
				f.DropRequest = true
			} else {
				f.DropReply = true
			}
			dropped.Add(1)
		}
		if netRng.Float64() < c.netRate {
			f.Delay = time.Duration(1+netRng.IntN(50)) * time.Millisecond
			delayed.Add(1)
		}
		return f
	})
	tally := &chaosTally{ok: map[string]int64{}, unknown: map[string]int64{}, failed: map[string]int64{}}
	loadCtx, stopLoad := context.WithTimeout(ctx, c.duration)
	defer stopLoad()
	var faults sync.WaitGroup
	var faultErr atomic.Value
	var partitions, kills atomic.Int64
	faults.Go(func() {
		start := time.Now()
		sleepUntil := func(at time.Duration) bool {
			select {
			case <-loadCtx.Done():
				return false
			case <-time.After(time.Until(start.Add(at))):
				return true
			}
		}
		if !sleepUntil(partitionAt) {
			return
		}
		name := fmt.Sprintf("n%d", partitioned+1)
		cc.net.Partition([]string{name})
		partitions.Add(1)
		healed := sleepUntil(partitionAt + partitionFor)
		cc.net.Heal()
		if !healed || !sleepUntil(killAt) {
			return
		}
		victim := fmt.Sprintf("n%d", killed+1)
		kills.Add(1)
		if err := cc.restart(ctx, victim); err != nil {
			faultErr.Store(fmt.Errorf("restarting %s after killing it: %w", victim, err))
		}
	})

	// Actor stops: every 50-250 ms a random counter is deactivated on a
	// random member, as if its actor had been stopped; its next intent
	// activates it again from its committed state.
	var stops atomic.Int64
	faults.Go(func() {
		srng := rand.New(rand.NewPCG(c.seed, c.seed^0x14057b7ef767814f))
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-time.After(time.Duration(50+srng.IntN(200)) * time.Millisecond):
			}
			live := cc.live()
			n := live[srng.IntN(len(live))]
			if n.Runtime().Deactivate("counter", fmt.Sprintf("c%d", srng.IntN(c.counters))) {
				stops.Add(1)
			}
		}
	})

	var senders sync.WaitGroup
	for w := range c.concurrency {
		wrng := rand.New(rand.NewPCG(c.seed+uint64(w)+1, uint64(w)))
		senders.Go(func() {
			for loadCtx.Err() == nil {
				live := cc.live()
				n := live[wrng.IntN(len(live))]
				id := fmt.Sprintf("c%d", wrng.IntN(c.counters))
				caller, err := n.Runtime().NewContext("chaos", "user:basic")
				if err != nil {
					continue
				}
				rctx, cancel := context.WithTimeout(context.Background(), c.timeout)
				start := time.Now()
				_, err = n.Request(rctx, caller, &counterpb.Increment{Counter: id, By: 1})
				took := time.Since(start)
				cancel()
				tally.record(n.Local().Name, id, err, took, c.timeout+time.Second)
			}
		})
	}
	senders.Wait()
	faults.Wait()
	cc.net.Heal()
	cc.net.SetIntentFaults(nil)
	if err := cc.injector.Set(); err != nil {
		return false, err
	}
	if v := faultErr.Load(); v != nil {
		return false, v.(error)
	}

	// Recovery: all three members serve again (the partitioned one has
	// rejoined by itself), every counter answers again, and its value is
	// within ok ≤ value ≤ ok + unknown (it started at 0).
	healed := time.Now()
	var rejoinErr []string
	if err := waitMembers(ctx, cc.live(), 3, c.recovery); err != nil {
		rejoinErr = append(rejoinErr, err.Error())
	}
	rejoined := time.Since(healed)
	values := map[string]int64{}
	var unanswered []string
	for i := range c.counters {
		id := fmt.Sprintf("c%d", i)
		v, err := getUntil(ctx, cc.live(), id, c.recovery-time.Since(healed))
		if err != nil {
			unanswered = append(unanswered, fmt.Sprintf("%s (%v)", id, err))
			continue
		}
		values[id] = v
	}
	longest := time.Since(healed)
	// One active owner per counter, once activations moved by the
	// membership changes have stopped.
	var misplaced []string
	for deadline := time.Now().Add(c.recovery); ; time.Sleep(20 * time.Millisecond) {
		if misplaced = clustertest.Misplaced(cc.live()...); len(misplaced) == 0 || time.Now().After(deadline) {
			break
		}
	}
	var lost, phantom []string
	for i := range c.counters {
		id := fmt.Sprintf("c%d", i)
		v, ok := values[id]
		if !ok {
			continue
		}
		okN, unk := tally.ok[id], tally.unknown[id]
		switch {
		case v < okN:
			lost = append(lost, fmt.Sprintf("%s: value %d < %d ok", id, v, okN))
		case v > okN+unk:
			phantom = append(phantom, fmt.Sprintf("%s: value %d > %d ok + %d unknown", id, v, okN, unk))
		}
	}

	counts := cc.injector.Counts()
	fmt.Fprintf(stdout, "chaos: faults injected: %d handler panics, %d intents lost before their handler, %d reactor instances stopped, %d intents dropped and %d delayed between members, %d partition, %d kill\n",
		counts[fault.Panic], counts[fault.Drop], stops.Load(), dropped.Load(), delayed.Load(), partitions.Load(), kills.Load())
	fmt.Fprintf(stdout, "chaos: intents sent %d: ok %d, unknown %d, failed %d\n",
		tally.sent, sum(tally.ok), sum(tally.unknown), sum(tally.failed))
	reasons := make([]string, 0, len(tally.failed))
	for r := range tally.failed {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(stdout, "chaos:   failed %-40s %d\n", r, tally.failed[r])
	}
	fmt.Fprintf(stdout, "chaos: slowest answer %v; three members serving %v and all counters answered again %v after the load and the faults ended\n",
		tally.slowest.Round(time.Millisecond), rejoined.Round(time.Millisecond), longest.Round(time.Millisecond))
	pass := true
	verdict := func(name string, ok bool, detail []string) {
		word := "holds"
		if !ok {
			word, pass = "VIOLATED", false
		}
		fmt.Fprintf(stdout, "chaos: invariant %-58s %s\n", name, word)
		for i, d := range detail {
			if i == 10 {
				fmt.Fprintf(stdout, "chaos:   … %d more\n", len(detail)-10)
				break
			}
			fmt.Fprintf(stdout, "chaos:   %s\n", d)
		}
	}
	verdict("every request answered before its deadline (+1 s)", len(tally.late) == 0, tally.late)
	verdict(fmt.Sprintf("all members serve again within %v (no restart)", c.recovery), len(rejoinErr) == 0, rejoinErr)
	verdict(fmt.Sprintf("every counter answers within %v after the faults", c.recovery), len(unanswered) == 0, unanswered)
	verdict("one active owner per counter", len(misplaced) == 0, misplaced)
	verdict("no acknowledged increment lost (value ≥ ok)", len(lost) == 0, lost)
	verdict("nothing invented (value ≤ ok + unknown)", len(phantom) == 0, phantom)
	verdict("faults were injected", counts[fault.Panic] > 0 || c.panicRate == 0, nil)
	if pass {
		fmt.Fprintf(stdout, "chaos: PASS (seed %d)\n", c.seed)
	} else {
		fmt.Fprintf(stdout, "chaos: FAIL (seed %d replays this schedule)\n", c.seed)
	}
	return pass, nil
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// record classifies one answer: ok; failed (certainly not applied: not
// delivered, no quorum, refused, or the handler failed before its commit);
// or unknown (it may have been applied).
func (t *chaosTally) record(via, id string, err error, took, bound time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent++
	t.slowest = max(t.slowest, took)
	if took > bound {
		t.late = append(t.late, fmt.Sprintf("%s through %s answered after %v at %s: %v",
			id, via, took.Round(time.Millisecond), time.Now().Format("15:04:05.000"), err))
	}
	switch {
	case err == nil:
		t.ok[id]++
	case errors.Is(err, intent.ErrNotApplied):
		t.failed[failReason(err)]++
	case errors.Is(err, intent.ErrFailed) && !errors.Is(err, intent.ErrUnavailable):
		// The handler failed (an injected panic): the reactor kept its
		// committed state.
		t.failed[failReason(err)]++
	default:
		t.unknown[id]++
	}
}

func failReason(err error) string {
	switch {
	case errors.Is(err, cluster.ErrNoQuorum):
		return "no quorum"
	case errors.Is(err, cluster.ErrNotDelivered):
		return "not delivered"
	case errors.Is(err, fault.ErrInjected) || strings.Contains(err.Error(), "fault: injected"):
		return "injected handler panic"
	case errors.Is(err, actor.ErrNotCommitted):
		return "not committed"
	case errors.Is(err, intent.ErrFailed):
		return "handler failed"
	}
	return "not applied"
}

// waitMembers waits until every node sees want live members.
func waitMembers(ctx context.Context, nodes []*cluster.Node, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		all := true
		for _, n := range nodes {
			if len(n.Members()) != want || !n.Ready() {
				all = false
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the members did not converge on %d within %v", want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getUntil reads counter id through the live nodes until one answers or
// bound passes.
func getUntil(ctx context.Context, nodes []*cluster.Node, id string, bound time.Duration) (int64, error) {
	start := time.Now()
	for i := 0; ; i++ {
		n := nodes[i%len(nodes)]
		caller, err := n.Runtime().NewContext("chaos", "user:basic")
		if err != nil {
			return 0, err
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		reply, err := n.Request(rctx, caller, &counterpb.Get{Counter: id})
		cancel()
		if err == nil {
			return reply.(*counterpb.Value).Count, nil
		}
		if time.Since(start) > bound || ctx.Err() != nil {
			return 0, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runChaosControl reads (status) or replaces (inject) the fault rules of a
// node started with --chaos, through its HTTP API.
func runChaosControl(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http", "http://127.0.0.1:8080", "the node's HTTP API `URL`")
	token := fs.String("token", "", "API `token` of a principal holding chaos:inject (required)")
	timeout := fs.Duration("timeout", 5*time.Second, "give the node this `duration` to answer")
	var rules string
	if verb == "inject" {
		fs.StringVar(&rules, "rules", "", `JSON list of rules, e.g. '[{"kind":"counter","type":"Increment","rate":0.1,"action":"panic"}]' or '[{"rate":0.5,"action":"delay","delay":"200ms"}]'; '[]' clears them (required)`)
	}
	if err := fs.Parse(args); err != nil {
		return usageFailure("chaos "+verb, err, stderr)
	}
	switch {
	case fs.NArg() > 0:
		return usageFailure("chaos "+verb, fmt.Errorf("unexpected argument %q", fs.Arg(0)), stderr)
	case *token == "":
		return usageFailure("chaos "+verb, errors.New("--token is required"), stderr)
	case verb == "inject" && rules == "":
		return usageFailure("chaos "+verb, errors.New("--rules is required ('[]' clears them)"), stderr)
	}
	base, err := apiBase(*httpAddr)
	if err != nil {
		return usageFailure("chaos "+verb, err, stderr)
	}
	method, body := http.MethodGet, []byte(nil)
	if verb == "inject" {
		var list []web.ChaosRule
		if err := json.Unmarshal([]byte(rules), &list); err != nil {
			return usageFailure("chaos inject", fmt.Errorf("--rules is not a JSON list of rules: %v", err), stderr)
		}
		method = http.MethodPut
		body, _ = json.Marshal(map[string]any{"rules": list})
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var out json.RawMessage
	if err := call(cctx, method, base+"/v1/chaos", *token, body, &out); err != nil {
		fmt.Fprintf(stderr, "packetflow chaos %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
