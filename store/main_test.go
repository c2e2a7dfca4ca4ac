package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a
// store's committer that Close did not stop, a bbolt batch or check).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
