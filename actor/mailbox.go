package actor

import (
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
)

// delivery is an intent in flight to a reactor instance, with the way back
// to its caller. It never leaves the process: remote transports carry the
// intentpb.Envelope and build a delivery on arrival.
type delivery struct {
	env *intent.Envelope
	// replies receives exactly one outcome; nil for one-way sends.
	// Buffered (1) and written without blocking, so a late answer after the
	// caller gave up is dropped, never raced with.
	replies chan outcome
	// done, when set instead of replies, is called with the outcome, once
	// (answered guards it).
	done     func(proto.Message, error)
	answered atomic.Bool
	// hops counts re-routings after the target instance stopped.
	hops int
	// admit is set on an intent posted to one activation (Activation.Post):
	// it is never re-routed, and runs just before the handler; false drops
	// the intent unhandled.
	admit func() bool
	// mb is the mailbox that admitted it.
	mb *checkedMailbox
}

type outcome struct {
	reply proto.Message
	err   error
}

func (d *delivery) answer(reply proto.Message, err error) {
	if d.done != nil {
		if d.answered.CompareAndSwap(false, true) {
			d.done(reply, err)
		}
		return
	}
	if d.replies == nil {
		return
	}
	select {
	case d.replies <- outcome{reply, err}:
	default:
	}
}

// checkedMailbox is the mailbox of every reactor instance. It admits an
// intent only after the capability check and refuses anything that is not an
// intent, so nothing reaches reactor code unchecked. The check runs on the
// sender's goroutine, so a denied intent costs the reactor nothing.
//
// It implements Proto.Actor's Mailbox contract itself (system messages
// first, suspension while a failure is supervised, a yield every
// Throughput() messages, failures escalated to the invoker) so that it can
// linger: after draining its queue it yields a few times before going idle,
// so a steady stream of intents does not pay for waking the mailbox on every
// message.
type checkedMailbox struct {
	rt       *Runtime
	kind     *kind
	identity string
	// closed is set once the instance is stopping; later intents are
	// re-routed to a fresh activation instead of being lost.
	closed atomic.Bool
	// onStop runs when the activation stops (Activation.OnStop); only the
	// activation's goroutine touches it.
	onStop []func()

	user, system queue
	// batch holds user messages taken from user in one go; only the
	// goroutine running the mailbox touches it. next indexes the first
	// unhandled one; what a failure interrupts stays for the next run.
	batch      []any
	next       int
	userCount  atomic.Int32
	sysCount   atomic.Int32
	running    atomic.Bool
	suspended  atomic.Bool
	invoker    protoactor.MessageInvoker
	dispatcher protoactor.Dispatcher
	process    func() // m.processMessages, bound once
}

// lingerTurns is how many times a drained mailbox yields, looking for more
// messages, before it goes idle.
const lingerTurns = 8

// PostUserMessage is Proto.Actor's way in (a PID send). The runtime posts
// intents with post, which returns the mailbox's verdict to the sender.
func (m *checkedMailbox) PostUserMessage(msg any) {
	switch d := msg.(type) {
	case *delivery:
		if err := m.post(d); err != nil {
			d.answer(nil, err)
		}
		return
	case protoactor.AutoReceiveMessage, protoactor.SystemMessage:
	default:
		m.rt.stats.nonIntent.Add(1)
		m.rt.log.Warn("reactor mailbox refused a message that is not an intent",
			"kind", m.kind.name, "identity", m.identity, "type", fmt.Sprintf("%T", msg))
		return
	}
	m.enqueue(msg)
}

// post admits d and enqueues it, or returns why it was not admitted. An
// intent for an instance that is stopping goes to a fresh activation, which
// answers it; post then returns nil.
func (m *checkedMailbox) post(d *delivery) error {
	if m.closed.Load() {
		if d.admit != nil {
			return errActivationStopped
		}
		m.rt.reroute(d)
		return nil
	}
	if err := m.rt.admit(m.kind, m.identity, d); err != nil {
		return err
	}
	d.mb = m
	m.enqueue(d)
	return nil
}

func (m *checkedMailbox) enqueue(msg any) {
	m.user.push(msg)
	m.userCount.Add(1)
	m.schedule()
}

// nextUser returns the next user message, refilling the batch from the
// queue when it is used up; nil when there is none.
func (m *checkedMailbox) nextUser() any {
	if m.next == len(m.batch) {
		clear(m.batch)
		m.batch, m.next = m.user.drain(m.batch[:0]), 0
		if len(m.batch) == 0 {
			if cap(m.batch) > 64 {
				m.batch = nil // release a drained burst's batch
			}
			return nil
		}
	}
	msg := m.batch[m.next]
	m.batch[m.next] = nil
	m.next++
	return msg
}

func (m *checkedMailbox) PostSystemMessage(msg any) {
	m.system.push(msg)
	m.sysCount.Add(1)
	m.schedule()
}

func (m *checkedMailbox) RegisterHandlers(invoker protoactor.MessageInvoker, dispatcher protoactor.Dispatcher) {
	m.invoker, m.dispatcher = invoker, dispatcher
	m.process = m.processMessages
}

func (m *checkedMailbox) Start() {}

func (m *checkedMailbox) UserMessageCount() int { return int(m.userCount.Load()) }

func (m *checkedMailbox) schedule() {
	if m.running.CompareAndSwap(false, true) {
		m.dispatcher.Schedule(m.process)
	}
}

func (m *checkedMailbox) processMessages() {
	for {
		m.run()
		m.running.Store(false)
		// A message posted after run's last look but before running was
		// cleared found the mailbox running and did not schedule it.
		pending := m.sysCount.Load() > 0 || (!m.suspended.Load() && m.userCount.Load() > 0)
		if !pending || !m.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// run handles messages until the mailbox is empty (after lingering) or
// suspended. A panic in a handler is escalated to the actor's supervisor.
func (m *checkedMailbox) run() {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	throughput, handled, idle := m.dispatcher.Throughput(), 0, 0
	for {
		if handled > throughput {
			handled = 0
			goruntime.Gosched()
		}
		if m.sysCount.Load() > 0 {
			if msg = m.system.pop(); msg == nil {
				continue // cannot happen: a message is pushed before it is counted
			}
			m.sysCount.Add(-1)
			switch msg.(type) {
			case *protoactor.SuspendMailbox:
				m.suspended.Store(true)
			case *protoactor.ResumeMailbox:
				m.suspended.Store(false)
			default:
				m.invoker.InvokeSystemMessage(msg)
			}
			continue
		}
		if m.suspended.Load() {
			return
		}
		if msg = m.nextUser(); msg != nil {
			m.userCount.Add(-1)
			handled++
			idle = 0
			if d, ok := msg.(*delivery); ok && m.closed.Load() {
				if d.admit != nil {
					d.answer(nil, errActivationStopped) // pinned to this activation
					continue
				}
				m.rt.reroute(d) // the instance stopped with intents queued
				continue
			}
			m.invoker.InvokeUserMessage(msg)
			continue
		}
		if idle == lingerTurns {
			return
		}
		idle++
		goruntime.Gosched()
	}
}

// admit decides whether d may enter the mailbox of kind/identity: its
// deadline has not passed, the kind handles its type, and the context's
// grants satisfy the type's requirements for this message.
func (rt *Runtime) admit(k *kind, identity string, d *delivery) error {
	env := d.env
	var ctx *intent.Context
	if ctx = env.Context; ctx == nil {
		ctx = &intent.Context{}
	}
	// Read the clock only when the verdict depends on it: reading it is a
	// noticeable part of a one-way send.
	var now time.Time
	if !env.Deadline.IsZero() || ctx.Grants.Timed() {
		now = rt.now()
	}
	if !env.Deadline.IsZero() && !now.Before(env.Deadline) {
		rt.stats.expired.Add(1)
		return intent.ErrDeadlineExceeded
	}
	if !k.handles[env.Type.Name()] {
		rt.stats.unsupported.Add(1)
		return fmt.Errorf("%w: reactor kind %q has no handler for %s", intent.ErrUnsupported, k.name, env.Type.Name())
	}
	reqs, err := env.Type.Requirements(env.Message)
	if err != nil {
		rt.stats.rejected.Add(1)
		return err
	}
	if err := ctx.Grants.Check(reqs, now); err != nil {
		if now.IsZero() {
			now = rt.now() // for the audit record
		}
		rt.stats.denied.Add(1)
		ev := &PermissionDenied{At: now, IntentID: env.ID, IntentType: env.Type.Name(), Kind: k.name, Identity: identity, Principal: ctx.Principal}
		if denied, ok := err.(*capability.DeniedError); ok {
			ev.Missing = denied.Missing
		}
		rt.publish(ev)
		rt.log.Info("audit: permission denied", "intent", env.ID, "type", ev.IntentType, "reactor", k.name+"/"+identity,
			"principal", ev.Principal, "missing", fmt.Sprint(ev.Missing))
		return err
	}
	return nil
}
