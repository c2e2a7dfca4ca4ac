package config

import (
	"context"
	"fmt"
	"time"
)

// Refresh reloads the configuration from the store, so that this member
// sees the versions other members committed, notifies the watchers of
// each, and returns the current version. With Options.PollInterval set, a
// background poll does the same periodically.
func (c *Config) Refresh(ctx context.Context) (Snapshot, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return Snapshot{}, ErrClosed
	}
	if _, err := c.load(ctx); err != nil {
		return Snapshot{}, err
	}
	return c.Current(), nil
}

// load reads the stored state and adopts it. It returns what it read,
// which may be older than what this member has adopted meanwhile.
func (c *Config) load(ctx context.Context) (*state, error) {
	rec, err := c.store.Load(ctx, c.key)
	if err != nil {
		return nil, fmt.Errorf("config %s: load: %w", c.name, err)
	}
	c.mu.Lock()
	known := c.state
	c.mu.Unlock()
	st, err := decodeState(c.key, rec, known)
	if err != nil {
		return nil, err
	}
	c.adopt(st)
	return st, nil
}

// adopt makes next this member's state if it is newer than the one it has,
// and queues the changes for the watchers. States only move forward, so
// concurrent loads and commits cannot take a member back to an older
// version.
func (c *Config) adopt(next *state) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if next.number() <= c.state.number() {
		return
	}
	c.notifyLocked(c.state, next)
	c.state = next
}

// poll refreshes every interval until ctx ends; each attempt gets at most
// one interval, or a second when the interval is shorter.
func (c *Config) poll(ctx context.Context, interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		if _, err := c.load(callCtx); err != nil && ctx.Err() == nil {
			c.log.Warn("config: poll failed", "component", c.name, "err", err)
		}
		cancel()
	}
}
