package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/packetflow/packetflow/web"
)

// load and verify: a history check in the manner of Jepsen's counter
// checker. load increments counters through the HTTP API and records each
// request's outcome as ok (acknowledged), failed (definitely not applied) or
// unknown (may have been applied); verify reads every counter and checks
// initial+ok ≤ value ≤ initial+ok+unknown. A value below that range is an
// acknowledged increment that was lost; one above it is a phantom.

const (
	incrementType = "packetflow.examples.counter.v1.Increment"
	getType       = "packetflow.examples.counter.v1.Get"
)

// faultBackoff is how long a sender pauses after a request that was not
// answered, or answered with a possibly-applied error.
const faultBackoff = 100 * time.Millisecond

// The outcomes of one request.
const (
	outcomeOK      = "ok"
	outcomeFailed  = "failed"
	outcomeUnknown = "unknown"
)

// counterHistory is what load recorded for one counter.
type counterHistory struct {
	// Initial is the counter's value when load started (absent: 0).
	Initial int64 `json:"initial,omitempty"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	Unknown int64 `json:"unknown"`
}

// history is the file load writes and verify reads.
type history struct {
	Seed     uint64                     `json:"seed"`
	Counters map[string]*counterHistory `json:"counters"`
}

// parseURLs splits a comma-separated --http value into API base URLs.
func parseURLs(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		base, err := apiBase(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("--http %q: %w", s, err)
		}
		out = append(out, base)
	}
	return out, nil
}

// classify turns the answer to an increment into an outcome and a reason
// for the summary. Only an answer that says the intent was refused, or a
// request that never reached a node (the connection was not established),
// is failed: anything else may have been applied.
func classify(status int, err error) (outcome, reason string) {
	if err != nil {
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			return outcomeFailed, "not connected"
		case errors.Is(err, context.DeadlineExceeded):
			return outcomeUnknown, "timeout"
		case errors.Is(err, context.Canceled):
			return outcomeUnknown, "interrupted"
		default:
			return outcomeUnknown, "transport error"
		}
	}
	reason = strconv.Itoa(status) + " " + http.StatusText(status)
	switch status {
	case http.StatusOK:
		return outcomeOK, reason
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return outcomeFailed, reason
	default:
		return outcomeUnknown, reason
	}
}

// post sends an increment to u and returns the answer's status. A status
// that arrived is the node's decision: a 200 is an acknowledgement even if
// its body is cut short.
func post(ctx context.Context, client *http.Client, u, token string, body []byte) (int, error) {
	status, _, err := roundTrip(ctx, client, http.MethodPost, u, token, body)
	if status != 0 {
		return status, nil
	}
	return 0, err
}

// getCounter reads a counter, trying each URL in turn until one answers
// within timeout.
func getCounter(ctx context.Context, urls []string, token, id string, timeout time.Duration) (int64, error) {
	body, err := json.Marshal(web.IntentRequest{Kind: "counter", ID: id, Type: getType})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, u := range urls {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		n, err := func() (int64, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var resp web.IntentResponse
			if err := call(ctx, http.MethodPost, u+"/v1/intents", token, body, &resp); err != nil {
				return 0, err
			}
			var v struct {
				Count json.RawMessage `json:"count"`
			}
			if err := json.Unmarshal(resp.Result, &v); err != nil {
				return 0, fmt.Errorf("decoding the value: %w", err)
			}
			// protojson writes int64 as a string; accept a number too.
			n, err := strconv.ParseInt(strings.Trim(string(v.Count), `"`), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("count %s: %w", v.Count, err)
			}
			return n, nil
		}()
		if err == nil {
			return n, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return 0, errors.Join(errs...)
}

// counterNames orders counter names as c0, c1, …, c10 rather than c0, c1,
// c10: shorter names first.
func counterNames(h *history) []string {
	names := make([]string, 0, len(h.Counters))
	for name := range h.Counters {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
	})
	return names
}

type loadConfig struct {
	urls              []string
	token, out        string
	counters, senders int
	prefix            string
	duration, timeout time.Duration
	seed              uint64
}

func parseLoadFlags(args []string, stderr io.Writer) (loadConfig, error) {
	var c loadConfig
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpURLs := fs.String("http", "http://127.0.0.1:8080", "comma-separated HTTP API `URLs` of the nodes; requests go round-robin over them")
	fs.StringVar(&c.token, "token", "", "API `token` of the principal sending the increments (required)")
	fs.IntVar(&c.counters, "counters", 20, "increment `N` counters, PREFIX0 to PREFIX(N-1)")
	fs.StringVar(&c.prefix, "prefix", "c", "counter names start with this `prefix`")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "send increments for this `duration`")
	fs.IntVar(&c.senders, "concurrency", 8, "`number` of concurrent senders")
	fs.Uint64Var(&c.seed, "seed", 0, "`seed` of the counter choice (default: from the clock; printed)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "a request without an answer within this `duration` is unknown")
	fs.StringVar(&c.out, "out", "", "write the history (JSON) to this `file` (required)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	seeded := false
	fs.Visit(func(f *flag.Flag) { seeded = seeded || f.Name == "seed" })
	if !seeded {
		c.seed = uint64(time.Now().UnixNano())
	}
	var err error
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.token == "":
		return c, errors.New("--token is required")
	case c.out == "":
		return c, errors.New("--out is required")
	case c.counters <= 0:
		return c, errors.New("--counters must be positive")
	case c.prefix == "" || len(c.prefix) > 64:
		return c, errors.New("--prefix must be 1 to 64 bytes")
	case c.senders <= 0:
		return c, errors.New("--concurrency must be positive")
	case c.duration <= 0:
		return c, errors.New("--duration must be positive")
	case c.timeout <= 0:
		return c, errors.New("--timeout must be positive")
	}
	c.urls, err = parseURLs(*httpURLs)
	return c, err
}

// workerResult is what one sender counted: per counter and per reason.
type workerResult struct {
	counts  []counterHistory
	reasons map[string]int64
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseLoadFlags(args, stderr)
	if err != nil {
		return usageFailure("load", err, stderr)
	}
	// Fail before the load, not after it, when the history cannot be
	// written.
	out, err := os.Create(c.out)
	if err != nil {
		return usageFailure("load", fmt.Errorf("--out: %w", err), stderr)
	}
	defer out.Close()
	fmt.Fprintf(stdout, "seed %d\n", c.seed)

	h := &history{Seed: c.seed, Counters: map[string]*counterHistory{}}
	names := make([]string, c.counters)
	for i := range names {
		names[i] = c.prefix + strconv.Itoa(i)
		// The initial values, so that a cluster that already counted is
		// checked from where it stood.
		n, err := getCounter(ctx, c.urls, c.token, names[i], c.timeout)
		if err != nil {
			fmt.Fprintf(stderr, "packetflow load: reading the initial value of %s: %v\n", names[i], err)
			return 1
		}
		h.Counters[names[i]] = &counterHistory{Initial: n}
	}
	fmt.Fprintf(stdout, "%d counters, %d senders, %v against %s\n", c.counters, c.senders, c.duration, strings.Join(c.urls, ", "))

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = c.senders
	client := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()

	// sending ends with the duration or an interrupt; a request in flight
	// at the end of the duration still gets its answer (an interrupt
	// cancels it: unknown).
	sending, stop := context.WithTimeout(ctx, c.duration)
	defer stop()
	started := time.Now()
	results := make([]workerResult, c.senders)
	var wg sync.WaitGroup
	for w := range c.senders {
		wg.Go(func() {
			res := workerResult{counts: make([]counterHistory, c.counters), reasons: map[string]int64{}}
			defer func() { results[w] = res }()
			rng := rand.New(rand.NewPCG(c.seed, uint64(w)))
			for k := 0; sending.Err() == nil; k++ {
				i := rng.IntN(c.counters)
				body, err := json.Marshal(web.IntentRequest{Kind: "counter", ID: names[i], Type: incrementType, Payload: json.RawMessage(`{"by":1}`)})
				if err != nil {
					panic(err) // a fixed shape; it always encodes
				}
				reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
				status, err := post(reqCtx, client, c.urls[(w+k)%len(c.urls)]+"/v1/intents", c.token, body)
				cancel()
				outcome, reason := classify(status, err)
				res.reasons[outcome+": "+reason]++
				switch outcome {
				case outcomeOK:
					res.counts[i].OK++
				case outcomeFailed:
					res.counts[i].Failed++
				default:
					res.counts[i].Unknown++
				}
				if outcome == outcomeUnknown || reason == "not connected" {
					// A node that is down or a cluster in failover: do
					// not spin on it. Every unknown widens the range a
					// counter may be in, so a flood of fast 503s would
					// hide lost increments.
					select {
					case <-sending.Done():
					case <-time.After(faultBackoff):
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(started)

	var total counterHistory
	reasons := map[string]int64{}
	for _, r := range results {
		for i, n := range r.counts {
			ch := h.Counters[names[i]]
			ch.OK += n.OK
			ch.Failed += n.Failed
			ch.Unknown += n.Unknown
			total.OK += n.OK
			total.Failed += n.Failed
			total.Unknown += n.Unknown
		}
		for k, v := range r.reasons {
			reasons[k] += v
		}
	}
	requests := total.OK + total.Failed + total.Unknown
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "interrupted after %v\n", elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "requests %d  ok %d  failed %d  unknown %d  (%.1f/s over %v)\n",
		requests, total.OK, total.Failed, total.Unknown, float64(requests)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %-40s %d\n", k, reasons[k])
	}

	data, err := json.MarshalIndent(h, "", "  ")
	if err == nil {
		_, err = out.Write(append(data, '\n'))
	}
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "packetflow load: writing the history: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "history written to %s\n", c.out)
	return 0
}

// readHistory reads and checks a history file.
func readHistory(path string) (*history, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--history: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var h history
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("--history %s is not a load history: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--history %s is not a load history: data after the JSON object", path)
	}
	if len(h.Counters) == 0 {
		return nil, fmt.Errorf("--history %s names no counters", path)
	}
	for name, c := range h.Counters {
		switch {
		case name == "":
			return nil, fmt.Errorf("--history %s: a counter without a name", path)
		case c == nil:
			return nil, fmt.Errorf("--history %s: counter %s is null", path, name)
		case c.Initial < 0 || c.OK < 0 || c.Failed < 0 || c.Unknown < 0:
			return nil, fmt.Errorf("--history %s: counter %s has a negative count", path, name)
		}
	}
	return &h, nil
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpURLs := fs.String("http", "http://127.0.0.1:8080", "comma-separated HTTP API `URLs` of the nodes; each counter is read from the first that answers")
	token := fs.String("token", "", "API `token` of a principal that may read the counters (required)")
	file := fs.String("history", "", "the history `file` packetflow load wrote (required)")
	timeout := fs.Duration("timeout", 2*time.Second, "give each node this `duration` to answer a read")
	err := fs.Parse(args)
	var urls []string
	if err == nil {
		switch {
		case fs.NArg() > 0:
			err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		case *token == "":
			err = errors.New("--token is required")
		case *file == "":
			err = errors.New("--history is required")
		case *timeout <= 0:
			err = errors.New("--timeout must be positive")
		default:
			urls, err = parseURLs(*httpURLs)
		}
	}
	var h *history
	if err == nil {
		h, err = readHistory(*file)
	}
	if err != nil {
		return usageFailure("verify", err, stderr)
	}

	type violation struct {
		name, verdict, value string
		c                    *counterHistory
	}
	var bad []violation
	var lost, phantom, unreadable int
	names := counterNames(h)
	for _, name := range names {
		c := h.Counters[name]
		v, err := getCounter(ctx, urls, *token, name, *timeout)
		lo, hi := c.Initial+c.OK, c.Initial+c.OK+c.Unknown
		switch {
		case err != nil:
			unreadable++
			bad = append(bad, violation{name, "UNREADABLE", "?", c})
			fmt.Fprintf(stderr, "packetflow verify: reading %s: %v\n", name, err)
		case v < lo:
			lost++
			bad = append(bad, violation{name, fmt.Sprintf("LOST %d acknowledged", lo-v), strconv.FormatInt(v, 10), c})
		case v > hi:
			phantom++
			bad = append(bad, violation{name, fmt.Sprintf("PHANTOM %d", v-hi), strconv.FormatInt(v, 10), c})
		}
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "packetflow verify: interrupted")
			return 1
		}
	}
	if len(bad) > 0 {
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "COUNTER\tINITIAL\tOK\tUNKNOWN\tEXPECTED\tVALUE\tVIOLATION")
		for _, b := range bad {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d..%d\t%s\t%s\n", b.name, b.c.Initial, b.c.OK, b.c.Unknown,
				b.c.Initial+b.c.OK, b.c.Initial+b.c.OK+b.c.Unknown, b.value, b.verdict)
		}
		w.Flush()
		fmt.Fprintf(stdout, "FAIL: %d of %d counters violate initial+ok ≤ value ≤ initial+ok+unknown (%d lost, %d phantom, %d unreadable; seed %d, %s)\n",
			len(bad), len(names), lost, phantom, unreadable, h.Seed, filepath.Base(*file))
		return 1
	}
	fmt.Fprintf(stdout, "PASS: all %d counters within initial+ok ≤ value ≤ initial+ok+unknown (seed %d, %s)\n", len(names), h.Seed, filepath.Base(*file))
	return 0
}
