package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/stream/streampb"
)

// Restartable legs within one actor system: the protocol does not care
// whether a PID is remote, so these tests drive it exactly, with a fake
// subscriber that the test speaks for and stops. restart_test.go does the
// same across processes, with a subscriber killed by SIGKILL.

// fakeSubscriber is an actor that hands the test what a publisher sends it.
type fakeSubscriber struct {
	pid  *protoactor.PID
	msgs chan any
}

func startFake(t *testing.T, sys *protoactor.ActorSystem) *fakeSubscriber {
	t.Helper()
	f := &fakeSubscriber{msgs: make(chan any, 1024)}
	f.pid = sys.Root.Spawn(protoactor.PropsFromFunc(func(c protoactor.Context) {
		switch m := c.Message().(type) {
		case *streampb.Connect, *streampb.Elements, *streampb.Complete, *streampb.Failure:
			f.msgs <- m
		}
	}))
	return f
}

func (f *fakeSubscriber) next(t *testing.T) any {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(testTimeout):
		t.Fatal("the fake subscriber got nothing")
		return nil
	}
}

// positionValue is what the tests' sources emit at a position.
func positionValue(pos int64) int64 { return 3*pos + 1 }

func positionSource(n int64) Source[int64] {
	var i int64
	return Generate(func() (int64, bool) {
		if i == n {
			return 0, false
		}
		i++
		return positionValue(i - 1), true
	})
}

// subPID is the PID of the FromRemoteAcked source of a pipeline that
// subscribe started.
func subPID(p *Pipeline) *protoactor.PID { return p.stages[0].self }

func wait(t *testing.T, p *Pipeline) error {
	t.Helper()
	select {
	case <-p.Done():
		return p.Err()
	case <-time.After(testTimeout):
		t.Fatalf("pipeline did not end within %v", testTimeout)
		return nil
	}
}

// subscribe runs a FromRemoteAcked pipeline (starting at from) whose sink
// records every position and value it handles.
func subscribe(t *testing.T, sys *protoactor.ActorSystem, from int64, mid ...Flow[Positioned[int64], Positioned[int64]]) (*Pipeline, *RemoteInlet, *collector[Positioned[int64]]) {
	t.Helper()
	src, ri := FromRemoteAcked(int64Codec, from)
	for _, f := range mid {
		src = src.Via(f)
	}
	c := &collector[Positioned[int64]]{}
	snk := ForEachAck(ri, func(x int64) error {
		c.mu.Lock()
		c.items = append(c.items, Positioned[int64]{Pos: (x - 1) / 3, Value: x})
		c.mu.Unlock()
		return nil
	})
	p, err := src.To(snk).Run(testContext(t), sys)
	require.NoError(t, err)
	return p, ri, c
}

// receiveElements reads Elements from f until it has n elements, checking
// their positions and values.
func receiveElements(t *testing.T, f *fakeSubscriber, from, n int64) {
	t.Helper()
	for pos := from; pos < from+n; {
		m, ok := f.next(t).(*streampb.Elements)
		require.True(t, ok, "expected Elements")
		require.Equal(t, pos, m.GetFirst())
		for _, b := range m.GetItems() {
			x, err := int64Codec.Decode(b)
			require.NoError(t, err)
			require.Equal(t, positionValue(pos), x)
			pos++
		}
	}
}

func requirePositions(t *testing.T, got []Positioned[int64], from, to int64) {
	t.Helper()
	require.Len(t, got, int(to-from))
	for i, e := range got {
		require.Equal(t, from+int64(i), e.Pos)
		require.Equal(t, positionValue(e.Pos), e.Value)
	}
}

func TestRestartableReplaysOnlyWhatWasNotAcknowledged(t *testing.T) {
	sys := newSystem(t)
	fake := startFake(t, sys)
	sub, _, got := subscribe(t, sys, 0)
	reconnects := 0
	r := Restartable{Window: 64, Reconnect: func(context.Context) (*protoactor.PID, error) {
		reconnects++
		return subPID(sub), nil
	}}
	pub, err := positionSource(1000).To(ToRemoteRestartable(fake.pid, int64Codec, r)).RunWith(testContext(t), sys, Config{Batch: 16})
	require.NoError(t, err)

	c, ok := fake.next(t).(*streampb.Connect)
	require.True(t, ok)
	require.True(t, c.GetAcknowledged())
	require.Equal(t, uint64(1), c.GetSession())
	pubPID := protoactor.NewPID(c.GetAddress(), c.GetId())
	sys.Root.Send(pubPID, &streampb.Resume{Session: 1})
	sys.Root.Send(pubPID, &streampb.Demand{Session: 1, N: 40})
	receiveElements(t, fake, 0, 40)
	sys.Root.Send(pubPID, &streampb.Ack{Session: 1, Next: 25})
	sys.Root.Stop(fake.pid) // the subscriber is lost with 25..39 unacknowledged

	require.NoError(t, wait(t, pub))
	require.NoError(t, wait(t, sub))
	// The replacement got what was not acknowledged, once, and nothing
	// acknowledged was sent again.
	requirePositions(t, got.get(), 25, 1000)
	st := stageStats(pub, 1)
	require.Equal(t, uint64(1), st.Restarts)
	require.Equal(t, uint64(15), st.Replayed)
	require.Equal(t, uint64(40+975), st.Out)
	require.Equal(t, 1, reconnects)
}

func TestRestartableResumesFromTheSubscribersPosition(t *testing.T) {
	sys := newSystem(t)
	fake := startFake(t, sys)
	// The replacement durably handled everything before 30 (say, its
	// store says so): it gets each later element exactly once.
	sub, _, got := subscribe(t, sys, 30)
	r := Restartable{Window: 64, Reconnect: func(context.Context) (*protoactor.PID, error) { return subPID(sub), nil }}
	pub, err := positionSource(500).To(ToRemoteRestartable(fake.pid, int64Codec, r)).RunWith(testContext(t), sys, Config{Batch: 16})
	require.NoError(t, err)
	c := fake.next(t).(*streampb.Connect)
	pubPID := protoactor.NewPID(c.GetAddress(), c.GetId())
	sys.Root.Send(pubPID, &streampb.Resume{Session: 1})
	sys.Root.Send(pubPID, &streampb.Demand{Session: 1, N: 40})
	receiveElements(t, fake, 0, 40)
	sys.Root.Stop(fake.pid) // nothing acknowledged

	require.NoError(t, wait(t, pub))
	require.NoError(t, wait(t, sub))
	requirePositions(t, got.get(), 30, 500)
	require.Equal(t, uint64(10), stageStats(pub, 1).Replayed) // 30..39
}

func TestRestartableSkipsPositionsTheSubscriberAlreadyHas(t *testing.T) {
	sys := newSystem(t)
	// A subscriber resuming past what the publisher produced so far: the
	// publisher skips those elements of its source.
	sub, _, got := subscribe(t, sys, 300)
	pub, err := positionSource(400).To(ToRemoteRestartable(subPID(sub), int64Codec,
		Restartable{Reconnect: func(context.Context) (*protoactor.PID, error) { return nil, errors.New("unused") }})).
		RunWith(testContext(t), sys, Config{Batch: 16})
	require.NoError(t, err)
	require.NoError(t, wait(t, pub))
	require.NoError(t, wait(t, sub))
	requirePositions(t, got.get(), 300, 400)
	require.Equal(t, uint64(300), stageStats(pub, 1).Dropped)
	require.Equal(t, uint64(0), stageStats(pub, 1).Replayed)
}

func TestRestartableCompletesWhenTheSubscriberFiltersTheLastElement(t *testing.T) {
	sys := newSystem(t)
	// The sink never sees (never acknowledges) the odd positions, the last
	// one included: the sink's completion acknowledges them.
	sub, _, got := subscribe(t, sys, 0, Filter(func(e Positioned[int64]) bool { return e.Pos%2 == 0 }))
	pub, err := positionSource(101).To(ToRemoteRestartable(subPID(sub), int64Codec,
		Restartable{Reconnect: func(context.Context) (*protoactor.PID, error) { return nil, errors.New("unused") }})).
		RunWith(testContext(t), sys, Config{Batch: 8})
	require.NoError(t, err)
	require.NoError(t, wait(t, pub))
	require.NoError(t, wait(t, sub))
	require.Len(t, got.get(), 51)
}

func TestRestartableGivesUpAfterMaxRestarts(t *testing.T) {
	sys := newSystem(t)
	nobody := protoactor.NewPID(sys.Address(), "nobody-here")
	calls := 0
	r := Restartable{MaxRestarts: 2, Backoff: time.Millisecond, Reconnect: func(context.Context) (*protoactor.PID, error) {
		calls++
		return nobody, nil
	}}
	pub, err := positionSource(10).To(ToRemoteRestartable(nobody, int64Codec, r)).Run(testContext(t), sys)
	require.NoError(t, err)
	err = wait(t, pub)
	require.ErrorIs(t, err, ErrRestartsExhausted)
	require.ErrorIs(t, err, ErrStageLost)
	require.Contains(t, err.Error(), "after 2 restarts")
	require.Equal(t, 2, calls)
	require.Equal(t, uint64(2), stageStats(pub, 1).Restarts)
}

func TestRestartableReconnectErrorFailsThePipeline(t *testing.T) {
	sys := newSystem(t)
	nobody := protoactor.NewPID(sys.Address(), "nobody-here")
	boom := errors.New("no replacement in sight")
	r := Restartable{Reconnect: func(context.Context) (*protoactor.PID, error) { return nil, boom }}
	pub, err := positionSource(10).To(ToRemoteRestartable(nobody, int64Codec, r)).Run(testContext(t), sys)
	require.NoError(t, err)
	err = wait(t, pub)
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, ErrStageLost)
}

func TestRestartableNeedsAnAcknowledgingSubscriber(t *testing.T) {
	sys := newSystem(t)
	noReconnect := Restartable{Reconnect: func(context.Context) (*protoactor.PID, error) { return nil, errors.New("unused") }}

	// A restartable publisher and a plain FromRemote.
	src, inlet := FromRemote(int64Codec)
	sub, err := src.To(Ignore[int64]()).Run(testContext(t), sys)
	require.NoError(t, err)
	pub, err := positionSource(10).To(ToRemoteRestartable(inlet.PID(), int64Codec, noReconnect)).Run(testContext(t), sys)
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, pub), ErrProtocol)
	require.Error(t, wait(t, sub))

	// A plain publisher and FromRemoteAcked.
	asrc, ainlet := FromRemoteAcked(int64Codec, 0)
	asub, err := asrc.To(Ignore[Positioned[int64]]()).Run(testContext(t), sys)
	require.NoError(t, err)
	apub, err := positionSource(10).To(ToRemote(ainlet.PID(), int64Codec)).Run(testContext(t), sys)
	require.NoError(t, err)
	require.ErrorContains(t, wait(t, apub), "needs a restartable publisher")
	require.ErrorContains(t, wait(t, asub), "needs a restartable publisher")
}

func TestRestartableInvalidBlueprints(t *testing.T) {
	sys := newSystem(t)
	pid := protoactor.NewPID(sys.Address(), "x")
	ok := func(context.Context) (*protoactor.PID, error) { return pid, nil }
	for name, snk := range map[string]Sink[int64]{
		"nil PID":          ToRemoteRestartable(nil, int64Codec, Restartable{Reconnect: ok}),
		"no codec":         ToRemoteRestartable(pid, Codec[int64]{}, Restartable{Reconnect: ok}),
		"nil Reconnect":    ToRemoteRestartable(pid, int64Codec, Restartable{}),
		"negative max":     ToRemoteRestartable(pid, int64Codec, Restartable{Reconnect: ok, MaxRestarts: -1}),
		"negative window":  ToRemoteRestartable(pid, int64Codec, Restartable{Reconnect: ok, Window: -1}),
		"negative backoff": ToRemoteRestartable(pid, int64Codec, Restartable{Reconnect: ok, Backoff: -1}),
	} {
		_, err := positionSource(1).To(snk).Run(testContext(t), sys)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	src, _ := FromRemoteAcked(int64Codec, -1)
	_, err := src.To(Ignore[Positioned[int64]]()).Run(testContext(t), sys)
	require.ErrorIs(t, err, ErrInvalid)
	src, ri := FromRemoteAcked(int64Codec, 0)
	_, err = src.To(ForEachAck[int64](ri, nil)).Run(testContext(t), sys)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = src.To(ForEachAck(nil, func(int64) error { return nil })).Run(testContext(t), sys)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestRestartableBackoffDoublesUpToItsCap(t *testing.T) {
	r := Restartable{Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	var got []time.Duration
	for i := 1; i <= 5; i++ {
		got = append(got, r.backoff(i))
	}
	require.Equal(t, []time.Duration{10, 20, 40, 50, 50}, func() []time.Duration {
		for i := range got {
			got[i] /= time.Millisecond
		}
		return got
	}())
	require.Equal(t, time.Duration(0), Restartable{}.backoff(3))
	require.Positive(t, Restartable{Backoff: time.Hour}.backoff(200))
}
