package component

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/packetflow/packetflow/component/componentpb"
)

// Address names a component: its member ("" or the host's own name: this
// host) and its id.
type Address struct {
	Member, Component string
}

func (a Address) String() string { return a.Member + "/" + a.Component }

// SendOption adjusts one message.
type SendOption func(*envelope)

// WithPriority sets a message's priority (0 to 7; default 4): messages
// waiting in a component's mailbox are handled highest priority first.
func WithPriority(p Priority) SendOption {
	return func(e *envelope) { e.priority = min(max(p, 0), 7) }
}

// Send queues msg for the component at to and returns once it is queued
// (on another member: once that member has queued it). The component's
// reply, if any, is dropped.
func (h *Host) Send(ctx context.Context, to Address, msg proto.Message, opts ...SendOption) error {
	_, err := h.message(ctx, to, msg, false, opts)
	return err
}

// Request sends msg to the component at to and waits for its reply until
// ctx ends.
func (h *Host) Request(ctx context.Context, to Address, msg proto.Message, opts ...SendOption) (proto.Message, error) {
	return h.message(ctx, to, msg, true, opts)
}

func (h *Host) message(ctx context.Context, to Address, msg proto.Message, wantReply bool, opts []SendOption) (proto.Message, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: nil message", ErrDefinition)
	}
	if to.Member != "" && to.Member != h.member {
		return h.remote(ctx, to, msg, wantReply, opts)
	}
	e := &envelope{msg: msg, priority: DefaultPriority}
	for _, o := range opts {
		o(e)
	}
	if d, ok := ctx.Deadline(); ok {
		e.deadline = d
	}
	return h.post(ctx, to.Component, e, wantReply)
}

// post queues e at the local component id; with wantReply it waits for the
// reply.
func (h *Host) post(ctx context.Context, id string, e *envelope, wantReply bool) (proto.Message, error) {
	s, pid, err := h.slot(id)
	if err != nil {
		return nil, err
	}
	if !s.wanted.Load() {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, id)
	}
	type result struct {
		reply proto.Message
		err   error
	}
	out := make(chan result, 1)
	var once sync.Once
	e.reply = func(r proto.Message, err error) { once.Do(func() { out <- result{r, err} }) }
	s.queue.Add(1)
	h.metrics.queued(id, s.queue.Load())
	h.rt.System().Root.Send(pid, e)
	if !wantReply {
		return nil, nil
	}
	select {
	case r := <-out:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("component: %s did not answer in time: %w", id, ctx.Err())
	}
}

func (h *Host) remote(ctx context.Context, to Address, msg proto.Message, wantReply bool, opts []SendOption) (proto.Message, error) {
	router := h.router()
	if router == nil {
		return nil, fmt.Errorf("%w: %s: this host reaches no other member", ErrNotFound, to)
	}
	e := &envelope{priority: DefaultPriority}
	for _, o := range opts {
		o(e)
	}
	body, err := anypb.New(msg)
	if err != nil {
		return nil, fmt.Errorf("component: packing %T: %w", msg, err)
	}
	h.mu.Lock()
	caller := h.caller
	h.mu.Unlock()
	if caller == nil {
		return nil, ErrHostStopped
	}
	reply, err := router.Request(ctx, caller, &componentpb.Message{
		Target: to.String(), Body: body, Priority: int32(e.priority), WantReply: wantReply})
	if err != nil || !wantReply {
		return nil, err
	}
	r, ok := reply.(*componentpb.Reply)
	if !ok {
		return nil, fmt.Errorf("component: %s answered %T", to, reply)
	}
	if r.GetBody() == nil {
		return nil, nil
	}
	return r.GetBody().UnmarshalNew()
}

// BroadcastReport says who received a broadcast and who did not.
type BroadcastReport struct {
	Delivered []Address
	Failed    map[Address]error
	// Unreachable members could not even be asked for their components.
	Unreachable map[string]error
}

// OK reports whether every matching component received the message.
func (r BroadcastReport) OK() bool { return len(r.Failed) == 0 && len(r.Unreachable) == 0 }

func (r BroadcastReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delivered to %d", len(r.Delivered))
	for a, err := range r.Failed {
		fmt.Fprintf(&b, "; %s failed: %v", a, err)
	}
	for m, err := range r.Unreachable {
		fmt.Fprintf(&b, "; member %s unreachable: %v", m, err)
	}
	return b.String()
}

// Broadcast sends msg to every component matching q (for example every
// instance of a type, or every one with a tag) on every member, in
// parallel, and reports who received it and who did not.
func (h *Host) Broadcast(ctx context.Context, q Query, msg proto.Message, opts ...SendOption) (BroadcastReport, error) {
	found, err := h.Find(ctx, q)
	if err != nil {
		return BroadcastReport{}, err
	}
	rep := BroadcastReport{Failed: map[Address]error{}, Unreachable: found.Unreachable}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, e := range found.Entries {
		wg.Go(func() {
			err := h.Send(ctx, e.Address(), msg, opts...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Failed[e.Address()] = err
				return
			}
			rep.Delivered = append(rep.Delivered, e.Address())
		})
	}
	wg.Wait()
	return rep, nil
}

// deadlineOf is the deadline a service call carries, zero without one.
func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
