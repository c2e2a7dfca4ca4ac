// Package component is PacketFlow's component system: long-lived parts of
// a service (a connector, a cache, a worker pool) that a Host runs as
// supervised actors, with a declared interface, dependencies, health,
// alerts, metrics and messaging, discoverable from every member of the
// cluster.
//
// A Go type implements Component (Init, Start, Stop, Health) and, to take
// messages, Receiver. A Definition declares it: id, type, semantic
// version, provided capabilities, tags, weight, dependencies and alert
// rules. Host.Start starts the components in dependency order (a cycle or
// a missing dependency is an ErrDefinition naming the components), each an
// actor under a supervision tree (rest-for-one by default, so a failed
// component restarts with the ones started after it, its dependents among
// them); Host.Stop stops them in reverse. StartComponent, StopComponent
// and RestartComponent act on one component on demand, minding its
// dependencies and dependents.
//
// Health is checked every HealthInterval within HealthTimeout (no answer
// is unhealthy). Alert rules on health, error rate, latency and queue
// length fire once when their threshold is crossed and clear when the
// value recovers, as events and in Host.Alerts.
//
// Messages are protobuf. Send and Request reach a component on this member
// directly and one on another member as an intent to that member's
// component service (ServiceKind, a cluster.NodeConfig.MemberKinds kind),
// through the capability check like any intent; a message's priority
// reorders the component's mailbox. Find, Select (round-robin,
// least-loaded, random, weighted) and Broadcast ask every live member for
// its components, so a member that dies drops out of the results once the
// cluster has declared it dead; Broadcast reports who did not receive.
//
// Configuration with a schema, history and rollback is in
// component/config; a test kit for users' components is in
// component/componenttest.
package component
