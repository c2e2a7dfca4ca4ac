package temporal_test

import (
	"testing"
	_ "time/tzdata" // the tests name IANA zones; do not depend on the host's zoneinfo

	"github.com/packetflow/packetflow/cluster/clustertest"
)

// TestMain fails the package's tests if any goroutine outlives them. The
// cluster tests start memberships, whose goroutines end within a probe
// interval of their shutdown, and Proto.Actor's dead-letter throttle parks
// one for its interval (1s): clustertest.Main lets them settle first.
func TestMain(m *testing.M) {
	if childMain() {
		return
	}
	clustertest.Main(m)
}
