package config_test

import (
	"context"
	"fmt"

	"github.com/packetflow/packetflow/component/config"
	"github.com/packetflow/packetflow/store"
)

func Example() {
	ctx := context.Background()
	schema := config.Schema{Fields: []config.Field{
		{Key: "db.host", Type: config.String, Required: true},
		{Key: "db.pool.size", Type: config.Int, Default: 10, Check: config.IntRange(1, 100)},
		{Key: "db.pool.idle", Type: config.Duration, Default: "30s"},
	}}
	st := store.NewMemory() // in a cluster: the replicated store every member shares
	cfg, err := config.New(ctx, st, "orders-db", schema, config.Options{
		Initial: map[string]any{"db.host": "${ENV:ORDERS_DB_HOST:-localhost}"},
	})
	if err != nil {
		panic(err)
	}
	defer cfg.Close()
	done := make(chan struct{})
	cfg.Watch(func(old, new config.Snapshot) {
		if new.Version() == 3 {
			close(done)
		}
	})

	_, err = cfg.Update(ctx, map[string]any{"db.pool.size": 500})
	fmt.Println(err)
	_, _ = cfg.Update(ctx, map[string]any{"db.pool.size": 20})
	s, _ := cfg.Rollback(ctx, 1)
	<-done
	size, _ := s.GetInt("db.pool.size")
	fmt.Println(s.Version(), s.Cause(), s.RestoredFrom(), size)
	out, _ := cfg.Export()
	fmt.Println(string(out))
	// Output:
	// config: field "db.pool.size": 500 is out of range [1, 100]
	// 3 rollback 1 10
	// {"db":{"host":"localhost","pool":{"idle":"30s","size":10}}}
}
