// Package cluster is the PacketFlow node's place in a cluster. A Node ties
// a runtime to three parts:
//
//   - Placement decides which member owns a virtual reactor (kind,
//     identity), by rendezvous hashing over the members hosting the kind.
//   - Membership says which nodes are members, what each hosts, and who
//     joined, left or died.
//   - Remote carries intent envelopes to another node's runtime over
//     Proto.Actor remote (mutual TLS when configured) and their replies back,
//     on a reply path of its own rather than Proto.Actor futures.
//
// Membership runs hashicorp/memberlist (SWIM gossip with suspicion) with
// three additions:
//
//   - Metadata. Each member gossips a MemberMeta protobuf (cluster name,
//     member id, actor remote address, hosted reactor kinds) as its
//     memberlist node metadata, which is limited to 512 bytes; a
//     configuration whose metadata does not fit fails to start.
//   - Admission. The cluster name is memberlist's packet label, so traffic of
//     another cluster is dropped unread; and a peer whose metadata does not
//     decode, names another cluster, or carries an id already reported left
//     or dead is refused before memberlist lists it, so it is never reported.
//   - Events. memberlist's callbacks are queued and delivered in order by one
//     goroutine owned by the Membership (Subscribe). A member is reported
//     gone only when memberlist declares it dead or left, never while it is
//     merely suspect: EventLeft when it announced its departure through
//     Leave's handshake, EventDied otherwise.
//
// Member ids are fresh for every process start. A member reported left or
// dead never comes back under the same id (Proto.Actor's cluster blocks such
// ids for good), so a restarted node — or one that was declared dead during
// a partition and could talk again after it healed — must start a new
// Membership with a new id; it is then a new member.
//
// memberlist reports no suspicion to its delegates, and its NotifyLeave does
// not say whether a node left or died (v0.7.0 never sets Node.State on the
// nodes it hands out). Hence the departure handshake, and hence Members
// reports live members as StatusAlive until they are declared gone.
//
// Package clustertest runs memberships on an in-memory network that can be
// partitioned and healed.
package cluster
