// Package store keeps the committed state of reactor instances: what a
// reactor's state was when it last replied `ok`.
//
// It is a state store, not an event journal: each instance, named by a Key
// (its reactor kind and identity), has at most one committed Record, and
// that record carries a version. PacketFlow owns this interface, rather than
// using Proto.Actor's persistence, because every write here reports its
// outcome: a reactor replies only after Commit returned, and a failed Commit
// leaves it at its last committed state.
//
// # Durability
//
// Commit returns the new version only once the record is durable: for a
// *Bolt that means written and fsync'd to its file, so it survives a crash
// of the process or the machine right after Commit returned. Concurrent
// Commits share one transaction and one fsync (group commit). The package
// store/replicated keeps records in NATS JetStream embedded in every
// member, so that they survive the loss of a member: its Commit returns once
// a majority of the replicas has the record. *Memory keeps records in the
// process only: they do not survive a restart, and it exists for tests and
// for nodes without a data directory.
//
// A Commit that returns an error wrapping ErrConflict, ErrInvalid,
// ErrClosed, ErrCorrupt, ErrUnavailable or a context error changed nothing.
// One that returns an error wrapping ErrFailed has an unknown outcome: a
// failed write (a failed fsync, a full disk; a *Bolt then refuses every
// later Commit until it is reopened) or, for a replicated store, a write
// that was sent but never acknowledged.
//
// # Fencing
//
// Commits are conditional: Commit(key, expected, rec) succeeds only if key's
// committed version is still expected, and then makes it expected+1. Two
// activations of one instance (a stale owner after a membership flicker and
// the new one) may both load version n and both try to commit; exactly one
// gets n+1 and the other gets a *ConflictError wrapping ErrConflict, so the
// stale owner's write fails instead of overwriting. The loser must reload
// before it writes again.
//
// # Damage
//
// A damaged record is never read as a zero value or silently replaced: every
// stored record carries a CRC-32C over its key and fields, and Load and
// Commit of a damaged one return an error wrapping ErrCorrupt that names the
// file and the key. OpenBolt refuses a file that is not a store, is
// truncated, or fails its consistency check, naming the file; it never
// resets or recreates an existing file.
//
// The package storetest is the conformance suite every Store passes.
package store
