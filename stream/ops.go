package stream

// transform makes a one-in, one-out operator from step, which handles one
// element and may emit any number of elements for it.
func transform[In, Out any](op string, opts []StageOption, step func(x In, out *outlet[Out]) error) Flow[In, Out] {
	return flow(op, opts, func(_ *stage, in *inlet[In], out *outlet[Out]) (logic, error) {
		return &transformLogic[In, Out]{in: in, out: out, step: step}, nil
	})
}

type transformLogic[In, Out any] struct {
	in   *inlet[In]
	out  *outlet[Out]
	step func(In, *outlet[Out]) error
}

func (l *transformLogic[In, Out]) pump() error {
	// An element whose step emits more than the demand left (FlatMap) is
	// held by the outlet, and nothing more is taken until it is flushed.
	for l.out.room() && l.in.available() {
		if err := l.step(l.in.take(), l.out); err != nil {
			return err
		}
	}
	if l.in.completed() {
		l.out.complete()
	}
	return nil
}

func (l *transformLogic[In, Out]) restart() {}

// Map applies f to every element.
func Map[In, Out any](f func(In) Out, opts ...StageOption) Flow[In, Out] {
	if f == nil {
		return failedFlow[In, Out](invalid("Map", "nil function"))
	}
	return transform("map", opts, func(x In, out *outlet[Out]) error {
		out.emit(f(x))
		return nil
	})
}

// MapErr applies f to every element; an error goes to the stage's decider
// (Supervise), which by default stops the pipeline.
func MapErr[In, Out any](f func(In) (Out, error), opts ...StageOption) Flow[In, Out] {
	if f == nil {
		return failedFlow[In, Out](invalid("MapErr", "nil function"))
	}
	return transform("map", opts, func(x In, out *outlet[Out]) error {
		y, err := f(x)
		if err == nil {
			out.emit(y)
		}
		return err
	})
}

// Filter passes the elements for which keep returns true.
func Filter[T any](keep func(T) bool, opts ...StageOption) Flow[T, T] {
	if keep == nil {
		return failedFlow[T, T](invalid("Filter", "nil function"))
	}
	return transform("filter", opts, func(x T, out *outlet[T]) error {
		if keep(x) {
			out.emit(x)
		}
		return nil
	})
}

// FlatMap emits, in order, the elements f returns for each element.
func FlatMap[In, Out any](f func(In) []Out, opts ...StageOption) Flow[In, Out] {
	if f == nil {
		return failedFlow[In, Out](invalid("FlatMap", "nil function"))
	}
	return transform("flatMap", opts, func(x In, out *outlet[Out]) error {
		for _, y := range f(x) {
			out.emit(y)
		}
		return nil
	})
}

// Keyed is an element with the key that partitions a keyed stream: windows
// keep each key's elements apart.
type Keyed[K comparable, T any] struct {
	Key   K
	Value T
}

// KeyBy pairs every element with its key.
func KeyBy[K comparable, T any](key func(T) K, opts ...StageOption) Flow[T, Keyed[K, T]] {
	if key == nil {
		return failedFlow[T, Keyed[K, T]](invalid("KeyBy", "nil function"))
	}
	return transform("keyBy", opts, func(x T, out *outlet[Keyed[K, T]]) error {
		out.emit(Keyed[K, T]{Key: key(x), Value: x})
		return nil
	})
}
