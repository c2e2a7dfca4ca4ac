package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/packetflow/packetflow/web"
)

// The HTTP clients: send, members and healthcheck talk to a node's HTTP API.

// clientFlags parses the flags every client command has (--http and
// --timeout) plus those extra adds, and returns the API's base URL.
func clientFlags(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (base string, timeout time.Duration, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpURL := fs.String("http", "http://127.0.0.1:8080", "the node's HTTP API `URL`")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "give up after this `duration`")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return "", 0, err
	}
	if fs.NArg() > 0 {
		return "", 0, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if timeout <= 0 {
		return "", 0, fmt.Errorf("--timeout must be positive")
	}
	if base, err = apiBase(*httpURL); err != nil {
		return "", 0, fmt.Errorf("--http %q is not an http(s) URL", *httpURL)
	}
	return base, timeout, nil
}

// apiBase turns host:port or an http(s) URL into the API's base URL.
func apiBase(s string) (string, error) {
	base := s
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if s == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	return strings.TrimSuffix(base, "/"), nil
}

// roundTrip does one request with client and returns the answer's status
// and body (at most 16 MiB).
func roundTrip(ctx context.Context, client *http.Client, method, u, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		// The status arrived, so the node decided.
		return resp.StatusCode, nil, fmt.Errorf("reading the answer of %s: %w", u, err)
	}
	return resp.StatusCode, data, nil
}

// call does one request and decodes a JSON answer into out; a non-2xx
// answer becomes an error carrying the API's error code and message.
func call(ctx context.Context, method, u, token string, body []byte, out any) error {
	status, data, err := roundTrip(ctx, http.DefaultClient, method, u, token, body)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		var e web.ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			msg := fmt.Sprintf("%d %s: %s", status, e.Error.Code, e.Error.Message)
			if len(e.Error.Missing) > 0 {
				msg += " (missing: " + strings.Join(e.Error.Missing, ", ") + ")"
			}
			return errors.New(msg)
		}
		return fmt.Errorf("%s answered %d %s", u, status, http.StatusText(status))
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		*out = data
		return nil
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the answer of %s: %w", u, err)
		}
		return nil
	}
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var token, kind, id, typ, data string
	base, timeout, err := clientFlags("send", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&token, "token", "", "API `token` of the principal sending the intent")
		fs.StringVar(&kind, "kind", "", "reactor `kind`, e.g. counter")
		fs.StringVar(&id, "id", "", "reactor `identity`, e.g. c1")
		fs.StringVar(&typ, "type", "", "intent `type`, e.g. packetflow.examples.counter.v1.Increment")
		fs.StringVar(&data, "data", "{}", "the intent's payload as protojson")
	})
	if err == nil {
		switch {
		case kind == "" || id == "" || typ == "":
			err = errors.New("--kind, --id and --type are required")
		case !json.Valid([]byte(data)):
			err = fmt.Errorf("--data is not valid JSON: %q", data)
		}
	}
	if err != nil {
		return usageFailure("send", err, stderr)
	}
	body, err := json.Marshal(web.IntentRequest{Kind: kind, ID: id, Type: typ, Payload: json.RawMessage(data)})
	if err != nil {
		fmt.Fprintf(stderr, "packetflow send: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reply json.RawMessage
	if err := call(ctx, http.MethodPost, base+"/v1/intents", token, body, &reply); err != nil {
		fmt.Fprintf(stderr, "packetflow send: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(reply)))
	return 0
}

func runMembers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	base, timeout, err := clientFlags("members", args, stderr, nil)
	if err != nil {
		return usageFailure("members", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var resp web.MembersResponse
	if err := call(ctx, http.MethodGet, base+"/v1/members", "", nil, &resp); err != nil {
		fmt.Fprintf(stderr, "packetflow members: %v\n", err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATUS\tADDRESS\tKINDS\tID")
	for _, m := range resp.Members {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Status, m.Address, strings.Join(m.Kinds, ","), m.ID)
	}
	w.Flush()
	return 0
}

func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	base, timeout, err := clientFlags("healthcheck", args, stderr, nil)
	if err != nil {
		return usageFailure("healthcheck", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var resp web.HealthResponse
	if err := call(ctx, http.MethodGet, base+"/healthz", "", nil, &resp); err != nil {
		fmt.Fprintf(stderr, "packetflow healthcheck: unhealthy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s, %d members\n", resp.Node, resp.Status, resp.Members)
	return 0
}

// usageFailure reports a bad invocation: exit status 2 (0 for -help).
func usageFailure(cmd string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "packetflow %s: %v\n", cmd, err)
	return 2
}
