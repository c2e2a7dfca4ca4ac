package actor_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
)

// durableCounter is the quick start's counter on a runtime with st.
func durableCounter(t *testing.T, st store.Store, effects func(string)) (*actor.Runtime, *intent.Context) {
	t.Helper()
	rt, err := actor.NewRuntime(actor.Config{Store: st, Logger: quietLogger(t), CommitTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	require.NoError(t, counter.Define(rt, effects))
	caller, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	return rt, caller
}

func incr(t *testing.T, rt *actor.Runtime, caller *intent.Context, id string) (int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := rt.Request(ctx, caller, &counterpb.Increment{Counter: id, By: 1})
	if err != nil {
		return 0, err
	}
	return reply.(*counterpb.Value).Count, nil
}

func TestDurableStateSurvivesTheRuntime(t *testing.T) {
	st := store.NewMemory()
	rt, caller := durableCounter(t, st, nil)
	for i := 1; i <= 3; i++ {
		got, err := incr(t, rt, caller, "c1")
		require.NoError(t, err)
		require.EqualValues(t, i, got)
	}
	require.NoError(t, rt.Stop())

	rec, err := st.Load(context.Background(), store.Key{Kind: "counter", Identity: "c1"})
	require.NoError(t, err)
	require.EqualValues(t, 3, rec.Version, "one commit per handled intent")
	require.Equal(t, "packetflow.examples.counter.v1.State", rec.Type)

	// A new runtime (a restarted process) recovers the committed state.
	rt2, caller2 := durableCounter(t, st, nil)
	got, err := incr(t, rt2, caller2, "c1")
	require.NoError(t, err)
	require.EqualValues(t, 4, got)
}

// flakyStore fails commits while failing is set.
type flakyStore struct {
	store.Store
	failing atomic.Bool
}

var errDiskFull = errors.New("disk full")

func (s *flakyStore) Commit(ctx context.Context, key store.Key, expected uint64, rec store.Record) (uint64, error) {
	if s.failing.Load() {
		return 0, errDiskFull
	}
	return s.Store.Commit(ctx, key, expected, rec)
}

func TestFailedCommitAnswersAnErrorAndChangesNothing(t *testing.T) {
	st := &flakyStore{Store: store.NewMemory()}
	notified := make(chan string, 16)
	rt, caller := durableCounter(t, st, func(s string) { notified <- s })
	_, err := incr(t, rt, caller, "c1")
	require.NoError(t, err)
	<-notified

	st.failing.Store(true)
	_, err = incr(t, rt, caller, "c1")
	require.ErrorIs(t, err, actor.ErrNotCommitted)
	require.ErrorIs(t, err, intent.ErrUnavailable)
	require.ErrorIs(t, err, errDiskFull)
	select {
	case s := <-notified:
		t.Fatalf("an effect ran for an uncommitted change: %s", s)
	case <-time.After(50 * time.Millisecond):
	}

	st.failing.Store(false)
	got, err := incr(t, rt, caller, "c1")
	require.NoError(t, err)
	require.EqualValues(t, 2, got, "the reactor stayed at its last committed state")
}

func TestStaleActivationCannotOverwrite(t *testing.T) {
	// Two runtimes (two members that both believe they own c1, as after a
	// partition heals) share one store, or use two members of a replicated
	// one: a write based on a stale version is refused, and the stale
	// activation reloads before its next intent, so no increment is lost.
	t.Run("shared", func(t *testing.T) {
		st := store.NewMemory()
		staleActivationCannotOverwrite(t, st, st)
	})
	t.Run("replicated", func(t *testing.T) {
		ms := replicatedtest.Cluster(t, 3, nil)
		staleActivationCannotOverwrite(t, ms[0], ms[1])
	})
}

func staleActivationCannotOverwrite(t *testing.T, stA, stB store.Store) {
	a, ca := durableCounter(t, stA, nil)
	b, cb := durableCounter(t, stB, nil)

	got, err := incr(t, a, ca, "c1")
	require.NoError(t, err)
	require.EqualValues(t, 1, got)
	got, err = incr(t, b, cb, "c1") // b activates after a's commit: loads 1
	require.NoError(t, err)
	require.EqualValues(t, 2, got)

	_, err = incr(t, a, ca, "c1") // a still holds version 1
	require.ErrorIs(t, err, actor.ErrNotCommitted)
	require.ErrorIs(t, err, store.ErrConflict)

	got, err = incr(t, a, ca, "c1") // reloaded: 2 → 3
	require.NoError(t, err)
	require.EqualValues(t, 3, got)
}

func TestRecoveryRefusesWhatItCannotRead(t *testing.T) {
	key := store.Key{Kind: "counter", Identity: "c1"}
	state := func(n int64) []byte {
		b, err := proto.Marshal(&counterpb.State{Count: n})
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name string
		rec  store.Record
	}{
		{"another state type", store.Record{Type: "google.protobuf.StringValue", Schema: 1, Data: state(5)}},
		{"a newer schema", store.Record{Type: "packetflow.examples.counter.v1.State", Schema: 2, Data: state(5)}},
		{"an older schema without a migration", store.Record{Type: "packetflow.examples.counter.v1.State", Schema: 0, Data: state(5)}},
		{"undecodable data", store.Record{Type: "packetflow.examples.counter.v1.State", Schema: 1, Data: []byte{0xff, 0xff, 0xff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := store.NewMemory()
			_, err := st.Commit(context.Background(), key, 0, tt.rec)
			require.NoError(t, err)
			rt, caller := durableCounter(t, st, nil)
			_, err = incr(t, rt, caller, "c1")
			require.ErrorIs(t, err, actor.ErrRecovery, "never a zero state instead")
			require.ErrorIs(t, err, intent.ErrFailed)
			rec, err := st.Load(context.Background(), key)
			require.NoError(t, err)
			require.EqualValues(t, 1, rec.Version, "nothing written")
		})
	}
}

func TestPersistMigratesOlderSchemas(t *testing.T) {
	st := store.NewMemory()
	key := store.Key{Kind: "tally", Identity: "t1"}
	old, err := proto.Marshal(wrapperspb.Int64(7))
	require.NoError(t, err)
	_, err = st.Commit(context.Background(), key, 0, store.Record{Type: "google.protobuf.Int64Value", Schema: 1, Data: old})
	require.NoError(t, err)

	rt, err := actor.NewRuntime(actor.Config{Store: st, Logger: quietLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	_, err = intent.Register(rt.Types(), intent.Spec[*wrapperspb.StringValue]{Kind: "tally", IdentityField: "value"})
	require.NoError(t, err)
	tally := actor.NewReactor[int64]("tally", nil)
	actor.Handle(tally, func(_ *actor.Call, n int64, _ *wrapperspb.StringValue) (int64, *wrapperspb.Int64Value, error) {
		return n + 1, wrapperspb.Int64(n + 1), nil
	})
	// Schema 2 counts in tenths; schema 1 records are migrated.
	actor.Persist(tally, 2,
		func(n int64) *wrapperspb.Int64Value { return wrapperspb.Int64(n) },
		func(m *wrapperspb.Int64Value) (int64, error) { return m.Value, nil },
		func(schema uint32, m *wrapperspb.Int64Value) (int64, error) { return m.Value * 10, nil })
	require.NoError(t, rt.Register(tally))
	caller, err := rt.NewContext("alice")
	require.NoError(t, err)
	reply, err := rt.Request(context.Background(), caller, wrapperspb.String("t1"))
	require.NoError(t, err)
	require.EqualValues(t, 71, reply.(*wrapperspb.Int64Value).Value)
	rec, err := st.Load(context.Background(), key)
	require.NoError(t, err)
	require.EqualValues(t, 2, rec.Schema, "written back at the current schema")
}

func TestPersistDefinitionErrors(t *testing.T) {
	r := actor.NewReactor[int64]("x", nil)
	actor.Handle(r, func(_ *actor.Call, n int64, _ *wrapperspb.StringValue) (int64, *wrapperspb.Int64Value, error) {
		return n, nil, nil
	})
	actor.Persist[int64, *wrapperspb.Int64Value](r, 1, nil, nil, nil)
	rt, err := actor.NewRuntime(actor.Config{Logger: quietLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	require.ErrorContains(t, rt.Register(r), "encode and decode")
}

// failedStore fails commits with store.ErrFailed: a write that may have
// reached the disk.
type failedStore struct{ store.Store }

func (failedStore) Commit(context.Context, store.Key, uint64, store.Record) (uint64, error) {
	return 0, fmt.Errorf("%w: fsync: input/output error", store.ErrFailed)
}

func TestAFailedWriteIsAnUnknownOutcome(t *testing.T) {
	rt, caller := durableCounter(t, failedStore{store.NewMemory()}, nil)
	_, err := incr(t, rt, caller, "c1")
	require.ErrorIs(t, err, intent.ErrUnavailable)
	require.NotErrorIs(t, err, actor.ErrNotCommitted, "it may have been applied: not safe to retry as unapplied")
	require.ErrorContains(t, err, "outcome unknown")
}

func TestReadsWriteNothing(t *testing.T) {
	st := store.NewMemory()
	rt, caller := durableCounter(t, st, nil)
	_, err := incr(t, rt, caller, "c1")
	require.NoError(t, err)
	for range 3 {
		reply, err := rt.Request(context.Background(), caller, &counterpb.Get{Counter: "c1"})
		require.NoError(t, err)
		require.EqualValues(t, 1, reply.(*counterpb.Value).Count)
	}
	rec, err := st.Load(context.Background(), store.Key{Kind: "counter", Identity: "c1"})
	require.NoError(t, err)
	require.EqualValues(t, 1, rec.Version, "Gets left the state as it was: no commits")

	// A counter nobody has written reads as 0 without creating a record.
	reply, err := rt.Request(context.Background(), caller, &counterpb.Get{Counter: "fresh"})
	require.NoError(t, err)
	require.EqualValues(t, 0, reply.(*counterpb.Value).Count)
	rec, err = st.Load(context.Background(), store.Key{Kind: "counter", Identity: "fresh"})
	require.NoError(t, err)
	require.EqualValues(t, 0, rec.Version, "no record for a read of the initial state")
	got, err := incr(t, rt, caller, "fresh")
	require.NoError(t, err)
	require.EqualValues(t, 1, got)
}

func TestDeliverFuncAnswersOnce(t *testing.T) {
	rt, caller := durableCounter(t, nil, nil)
	env, err := rt.NewEnvelope(context.Background(), caller, &counterpb.Increment{Counter: "c1", By: 2})
	require.NoError(t, err)
	got := make(chan error, 2)
	rt.DeliverFunc(env, func(reply proto.Message, err error) {
		if err == nil && reply.(*counterpb.Value).Count != 2 {
			err = fmt.Errorf("count %d", reply.(*counterpb.Value).Count)
		}
		got <- err
	})
	require.NoError(t, <-got)

	// Refused before it is queued: answered on the caller's goroutine.
	nobody, err := rt.NewContext("nobody")
	require.NoError(t, err)
	env, err = rt.NewEnvelope(context.Background(), nobody, &counterpb.Increment{Counter: "c1"})
	require.NoError(t, err)
	var answers atomic.Int32
	rt.DeliverFunc(env, func(_ proto.Message, err error) {
		answers.Add(1)
		got <- err
	})
	require.EqualValues(t, 1, answers.Load(), "a denial is answered before DeliverFunc returns")
	require.Error(t, <-got)
	rt.DeliverFunc(nil, func(_ proto.Message, err error) { got <- err })
	require.ErrorIs(t, <-got, intent.ErrInvalid)
}

// With FencedReads, a read on an activation whose state another activation
// has since changed (two members both holding c1 for a moment) answers from
// the committed state, not the stale one; without it, the stale one
// answers, which is why a cluster node sets it.
func TestFencedReadsAnswerFromTheCommittedState(t *testing.T) {
	for _, fenced := range []bool{true, false} {
		t.Run(fmt.Sprintf("fenced=%v", fenced), func(t *testing.T) {
			st := store.NewMemory()
			a, err := actor.NewRuntime(actor.Config{Store: st, Logger: quietLogger(t), FencedReads: fenced})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, a.Stop()) })
			require.NoError(t, counter.Define(a, nil))
			ca, err := a.NewContext("alice", "user:basic")
			require.NoError(t, err)
			b, cb := durableCounter(t, st, nil)

			get := func() int64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				reply, err := a.Request(ctx, ca, &counterpb.Get{Counter: "c1"})
				require.NoError(t, err)
				return reply.(*counterpb.Value).Count
			}
			require.EqualValues(t, 0, get()) // a activates c1 at version 0
			for range 2 {
				_, err := incr(t, b, cb, "c1")
				require.NoError(t, err)
			}
			if fenced {
				require.EqualValues(t, 2, get(), "the read sees b's commits")
			} else {
				require.EqualValues(t, 0, get(), "without fencing the stale activation answers")
			}
		})
	}
}
