package stream

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/intent"
)

// ToReactor delivers every element as an intent: toIntent maps it to a
// protobuf message of a registered intent type, and the sink sends it with
// rt.Request on behalf of caller — through the plugins and the capability
// check of the target reactor's mailbox, like any other intent. A denial
// (capability.ErrPermissionDenied), a handler's error, a timeout or an
// error of toIntent is an error of the sink and goes to its decider:
// Resume drops the element (counted in StageStats.Errors), Stop (the
// default) fails the pipeline. Parallelism(n) allows n intents in flight
// at once; by default one, delivered in stream order.
//
// Use Map to build the intent from a window result; caller should name
// the pipeline's own principal and grants (rt.NewContext), never
// capabilities taken from the elements.
func ToReactor[T any](rt *actor.Runtime, caller *intent.Context, toIntent func(T) (proto.Message, error), opts ...StageOption) Sink[T] {
	if rt == nil {
		return failedSink[T](invalid("ToReactor", "nil runtime"))
	}
	if caller == nil {
		return failedSink[T](invalid("ToReactor", "nil caller context"))
	}
	if toIntent == nil {
		return failedSink[T](invalid("ToReactor", "nil intent function"))
	}
	parallel := max(applyOptions(opts).parallelism, 1)
	deliver := func(ctx context.Context, x T) (proto.Message, error) {
		msg, err := toIntent(x)
		if err != nil {
			return nil, err
		}
		return rt.Request(ctx, caller, msg)
	}
	return sink("reactor", opts, func(s *stage, in *inlet[T]) (logic, error) {
		in.capacity = int64(max(parallel, min(s.batch, 4*parallel)))
		return &reactorLogic[T]{in: in, core: newAsyncCore(s, parallel, true, deliver)}, nil
	})
}

type reactorLogic[T any] struct {
	in   *inlet[T]
	core *asyncCore[T, proto.Message]
}

func (l *reactorLogic[T]) pump() error {
	for {
		for {
			r, ok := l.core.next()
			if !ok {
				break
			}
			if r.err != nil {
				return r.err
			}
		}
		if !l.core.launchFrom(l.in) {
			return nil
		}
	}
}

func (l *reactorLogic[T]) receive(msg any) error { l.core.receive(msg); return nil }
func (l *reactorLogic[T]) busy() bool            { return l.core.busy() }
func (l *reactorLogic[T]) restart()              { l.core.restart() }
