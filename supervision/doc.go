// Package supervision declares supervision trees as data and runs them on
// Proto.Actor: supervisors with one-for-one, all-for-one and rest-for-one
// strategies (Proto.Actor has no rest-for-one), a decider that picks the
// directive (restart, resume, stop, escalate) by the failure's error class,
// restart intensity (more than N restarts within a window escalate, as in
// Erlang/OTP), exponential backoff with seeded jitter, and per-child
// restart policies (permanent, transient, temporary).
//
// A Spec is a supervisor: a name, a Strategy and Children in start order;
// a Child is a worker (a Proto.Actor actor made by New) or a nested Spec.
// Start runs the tree: each supervisor starts its children one after
// another, each once the previous one has handled Started, and stops them
// in reverse order. A restarted child is a new actor instance from New (a
// durable reactor reloads its last committed state, never the half-applied
// state of the handler that failed); restarting a supervisor restarts its
// whole subtree. A failure that escalates past the root stops the tree
// (Tree.Done, Tree.Err).
//
// Every decision is an Event (started, failed, restarted, resumed,
// stopped, escalated), delivered to Tree.Subscribe, published on the actor
// system's event stream and counted in Tree.Stats. The Clock is injectable
// so that intensity windows and backoff are tested without sleeping.
//
// Restarts use Proto.Actor's in-place restart: the children a strategy
// restarts together (all-for-one, rest-for-one) restart concurrently, not
// in reverse-then-forward order as in OTP.
package supervision
