package stream

import (
	"fmt"
)

// Blueprints. A Source, Flow, Sink or Graph describes stages; nothing runs
// until Graph.Run, which materializes fresh stages (actors) on every call,
// so a blueprint can run many times unless it wraps something that can be
// consumed once (a channel, an Inbox). Blueprints are immutable values:
// Via and To return new ones. A blueprint built from bad input carries its
// error, and Run returns it before spawning anything.

// Source is a blueprint with one open output of T.
type Source[T any] struct {
	build func(m *materializer) (port, error)
}

// Flow is a blueprint with one open input of In and one open output of
// Out.
type Flow[In, Out any] struct {
	build func(m *materializer, in port) (port, error)
}

// Sink is a blueprint with one open input of T.
type Sink[T any] struct {
	build func(m *materializer, in port) error
}

// Graph is a closed blueprint: every input and output connected. Run
// starts it.
type Graph struct {
	build func(m *materializer) error
}

// port is an open outlet of a stage being materialized.
type port struct {
	stage *stage
	index int
}

// edge connects an outlet of one stage to an inlet of another.
type edge struct {
	from, to *stage
	out, in  int
}

// materializer collects the stages and edges of one run.
type materializer struct {
	p      *Pipeline
	cfg    Config
	stages []*stage
	edges  []edge
}

// add creates a stage for an operator; build makes its logic, creating
// the stage's ports (newInlet, newOutlet) in port order.
func (m *materializer) add(op string, opts []StageOption, build func(s *stage) (logic, error)) (*stage, error) {
	o := applyOptions(opts)
	if len(o.errs) > 0 {
		return nil, fmt.Errorf("%s: %w", op, o.errs[0])
	}
	i := len(m.stages)
	name := o.name
	if name == "" {
		name = fmt.Sprintf("%d-%s", i, op)
	}
	s := &stage{
		name: name, index: i, p: m.p, batch: m.cfg.Batch, clock: m.cfg.Clock,
		decider: o.decider, opts: o, stats: &counters{},
	}
	l, err := build(s)
	if err != nil {
		return nil, err
	}
	s.logic = l
	m.stages = append(m.stages, s)
	return s, nil
}

// connect links the open outlet from to inlet in of s.
func (m *materializer) connect(from port, s *stage, in int) {
	m.edges = append(m.edges, edge{from: from.stage, out: from.index, to: s, in: in})
}

// source, flow and sink make the blueprints of single-stage operators.
func source[T any](op string, opts []StageOption, mk func(s *stage, out *outlet[T]) (logic, error)) Source[T] {
	return Source[T]{build: func(m *materializer) (port, error) {
		s, err := m.add(op, opts, func(s *stage) (logic, error) { return mk(s, newOutlet[T](s)) })
		if err != nil {
			return port{}, err
		}
		return port{stage: s}, nil
	}}
}

func flow[In, Out any](op string, opts []StageOption, mk func(s *stage, in *inlet[In], out *outlet[Out]) (logic, error)) Flow[In, Out] {
	return Flow[In, Out]{build: func(m *materializer, from port) (port, error) {
		s, err := m.add(op, opts, func(s *stage) (logic, error) { return mk(s, newInlet[In](s), newOutlet[Out](s)) })
		if err != nil {
			return port{}, err
		}
		m.connect(from, s, 0)
		return port{stage: s}, nil
	}}
}

func sink[T any](op string, opts []StageOption, mk func(s *stage, in *inlet[T]) (logic, error)) Sink[T] {
	return Sink[T]{build: func(m *materializer, from port) error {
		s, err := m.add(op, opts, func(s *stage) (logic, error) { return mk(s, newInlet[T](s)) })
		if err != nil {
			return err
		}
		m.connect(from, s, 0)
		return nil
	}}
}

// Failed blueprints carry a construction error to Run.
func failedSource[T any](err error) Source[T] {
	return Source[T]{build: func(*materializer) (port, error) { return port{}, err }}
}

func failedFlow[In, Out any](err error) Flow[In, Out] {
	return Flow[In, Out]{build: func(*materializer, port) (port, error) { return port{}, err }}
}

func failedSink[T any](err error) Sink[T] {
	return Sink[T]{build: func(*materializer, port) error { return err }}
}

// From returns src; it makes a pipeline read left to right:
// stream.From(src).Via(flow).To(sink).Run(ctx, system).
func From[T any](src Source[T]) Source[T] { return src }

// Via returns src followed by f. To change the element type use the
// function Via.
func (src Source[T]) Via(f Flow[T, T]) Source[T] { return Via(src, f) }

// To connects src to sink, closing the graph.
func (src Source[T]) To(snk Sink[T]) Graph {
	return Graph{build: func(m *materializer) error {
		if src.build == nil {
			return invalid("To", "zero Source")
		}
		if snk.build == nil {
			return invalid("To", "zero Sink")
		}
		p, err := src.build(m)
		if err != nil {
			return err
		}
		return snk.build(m, p)
	}}
}

// Via returns src followed by f.
func Via[In, Out any](src Source[In], f Flow[In, Out]) Source[Out] {
	return Source[Out]{build: func(m *materializer) (port, error) {
		if src.build == nil {
			return port{}, invalid("Via", "zero Source")
		}
		if f.build == nil {
			return port{}, invalid("Via", "zero Flow")
		}
		p, err := src.build(m)
		if err != nil {
			return port{}, err
		}
		return f.build(m, p)
	}}
}

// Chain returns f followed by g.
func Chain[A, B, C any](f Flow[A, B], g Flow[B, C]) Flow[A, C] {
	return Flow[A, C]{build: func(m *materializer, in port) (port, error) {
		if f.build == nil || g.build == nil {
			return port{}, invalid("Chain", "zero Flow")
		}
		p, err := f.build(m, in)
		if err != nil {
			return port{}, err
		}
		return g.build(m, p)
	}}
}

// Via returns f followed by g, with the same element type.
func (f Flow[In, Out]) Via(g Flow[Out, Out]) Flow[In, Out] { return Chain(f, g) }

// To returns f followed by snk: a sink of f's input.
func (f Flow[In, Out]) To(snk Sink[Out]) Sink[In] {
	return Sink[In]{build: func(m *materializer, in port) error {
		if f.build == nil {
			return invalid("To", "zero Flow")
		}
		if snk.build == nil {
			return invalid("To", "zero Sink")
		}
		p, err := f.build(m, in)
		if err != nil {
			return err
		}
		return snk.build(m, p)
	}}
}
