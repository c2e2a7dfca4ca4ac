package clustertest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// LeakSettle is how long Main lets goroutines end after the tests before it
// reports them as leaked. memberlist does not wait for its probe and gossip
// goroutines on Shutdown; they end within a probe interval.
const LeakSettle = 5 * time.Second

// Main runs a test binary's tests, then fails it if goroutines are left
// once LeakSettle has passed. Call it from TestMain in packages whose tests
// start memberships.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(LeakSettle)
		err := goleak.Find()
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
