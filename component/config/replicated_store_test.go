package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
)

// TestMembersOfAReplicatedStoreShareOneHistory runs the configuration on
// a real three-member replicated store: two members write concurrently,
// the third, which wrote nothing, reads every version.
func TestMembersOfAReplicatedStoreShareOneHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member JetStream cluster")
	}
	const writers, perWriter = 3, 4
	start := time.Now()
	stores := replicatedtest.Cluster(t, 3, nil)
	t.Logf("cluster up in %v", time.Since(start))
	a := openWorkers(t, stores[0], 2*writers, config.Options{})
	b := openWorkers(t, stores[1], 2*writers, config.Options{})
	hammer(t, []*config.Config{a, b}, writers, perWriter)

	reader := openWorkers(t, stores[2], 2*writers, config.Options{})
	assertTotalOrder(t, reader.History(), 2*writers, 1+2*writers*perWriter)
	_, err := a.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, reader.History(), a.History())
}
