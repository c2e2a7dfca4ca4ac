package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPIntent measures POST /v1/intents end to end: a keep-alive
// client, a real net/http server on loopback, authentication, decoding, the
// capability-checked request through a single node's runtime and the reply
// as JSON. The intents increment a handful of counters in turn. It reports
// the median and 99th percentile latency per request besides ns/op.
func BenchmarkHTTPIntent(b *testing.B) {
	const counters = 8
	bodies := make([]string, counters)
	for i := range bodies {
		bodies[i] = intentBody("counter", fmt.Sprintf("bench-%d", i), incrementType, `{"by":1}`)
	}

	b.Run("serial", func(b *testing.B) {
		srv, client := benchServer(b)
		lat := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			postBench(b, client, srv.URL, bodies[i%counters])
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		reportLatency(b, lat)
	})

	b.Run("parallel", func(b *testing.B) {
		srv, client := benchServer(b)
		var (
			mu  sync.Mutex
			lat = make([]time.Duration, 0, b.N)
			seq atomic.Uint64
		)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1024)
			for pb.Next() {
				body := bodies[seq.Add(1)%counters]
				start := time.Now()
				postBench(b, client, srv.URL, body)
				local = append(local, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
		b.StopTimer()
		reportLatency(b, lat)
	})
}

// benchServer starts a handler over a fresh node behind a loopback HTTP
// server and returns a keep-alive client for it, with enough idle
// connections for RunParallel's goroutines.
func benchServer(b *testing.B) (*httptest.Server, *http.Client) {
	b.Helper()
	h := newHandler(b, newNode(b))
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	return srv, client
}

func postBench(b *testing.B, client *http.Client, url, body string) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/intents", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer alice")
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	// Drain so that the connection is reused.
	_, err = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("POST /v1/intents: %d %v", res.StatusCode, err)
	}
}

// reportLatency reports the median and 99th percentile of lat in
// microseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
