// Package actor runs PacketFlow reactors on Proto.Actor.
//
// A reactor is a stateful actor that handles intents: for each intent type it
// handles, a handler turns (state, intent) into a new state, a reply and
// effects. Reactors are virtual: the runtime activates the instance named by
// an intent's identity on its first intent.
//
// Every reactor's mailbox checks capabilities before it enqueues an intent:
// the intent type's required capabilities are checked against the grants of
// the intent's context, using the implication hierarchy of the capability
// catalog. A denied intent never reaches the reactor, changes no state, is
// answered with a *capability.DeniedError naming the missing capabilities,
// counted in Stats and published as a PermissionDenied event.
//
// Handlers commit by returning: the returned state replaces the old one and
// only then is the reply sent; a handler that returns an error or panics
// leaves the last committed state in place. Effects run after the commit in
// supervised actors of their own, so a failing effect is reported (an
// EffectFailed event) and never touches reactor state.
//
// The Runtime is the node-local entry point: it owns the Proto.Actor system,
// the capability catalog, the intent type registry, the plugins and the
// reactor kinds, and offers Request and Send.
package actor
