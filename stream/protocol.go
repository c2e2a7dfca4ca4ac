package stream

import (
	"math"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// The in-process protocol between stages. Demand (demandMsg) and
// cancellation flow upstream; elements (batchMsg, never more than
// requested), completion and failure flow downstream. Every message names
// the port it is for on the receiving stage, so fan-in and fan-out stages
// know which inlet or outlet it concerns. Across actor systems the same
// protocol travels as streampb messages (see remote.go).

// startMsg wires a spawned stage to its neighbours and starts it. The
// owner sends it once every stage of the pipeline exists, so no stage
// ever sends to a PID that is not yet registered.
type startMsg struct {
	ups   []peer // per inlet: the upstream stage and its outlet index
	downs []peer // per outlet: the downstream stage and its inlet index
}

type peer struct {
	pid  *protoactor.PID
	port int
}

// demandMsg is request(n) for the receiver's outlet port.
type demandMsg struct {
	port int
	n    int64
}

// cancelMsg cancels the receiver's outlet port.
type cancelMsg struct{ port int }

// batchMsg carries elements to the receiver's inlet port.
type batchMsg[T any] struct {
	port  int
	items []T
}

// completeMsg completes the receiver's inlet port.
type completeMsg struct{ port int }

// failMsg fails the receiver's inlet port.
type failMsg struct {
	port int
	err  error
}

// pumpMsg asks a stage to go on pumping: a stage that moved many batches
// in one turn yields to its mailbox and resumes with it.
type pumpMsg struct{}

// inletMessage is implemented by batchMsg[T] for every T.
type inletMessage interface{ inletPort() int }

func (m *batchMsg[T]) inletPort() int { return m.port }

// Messages to a stage that has stopped are expected (a pipeline being torn
// down): they go to Proto.Actor's dead letters without a log line.
func (*startMsg) IgnoreDeadLetterLogging()    {}
func (*demandMsg) IgnoreDeadLetterLogging()   {}
func (*cancelMsg) IgnoreDeadLetterLogging()   {}
func (*batchMsg[T]) IgnoreDeadLetterLogging() {}
func (*completeMsg) IgnoreDeadLetterLogging() {}
func (*failMsg) IgnoreDeadLetterLogging()     {}
func (*pumpMsg) IgnoreDeadLetterLogging()     {}

// addDemand adds n > 0 to d, saturating at math.MaxInt64 (rule 3.17: a
// demand that large is effectively unbounded).
func addDemand(d, n int64) int64 {
	if d > math.MaxInt64-n {
		return math.MaxInt64
	}
	return d + n
}
