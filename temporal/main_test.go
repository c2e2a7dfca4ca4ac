package temporal_test

import (
	"testing"
	_ "time/tzdata" // the tests name IANA zones; do not depend on the host's zoneinfo

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Proto.Actor's dead-letter throttle parks a goroutine for its
		// interval (1s) after the first dead letter; it is not ours to stop.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}
