package store_test

import (
	"testing"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return store.NewMemory() })
}
