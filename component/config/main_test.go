package config_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a
// watcher or poller that Close or cancel did not stop).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
