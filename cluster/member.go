package cluster

import (
	"fmt"
	"slices"
	"strings"
)

// Member is one node of the cluster as the membership layer reports it.
// Members() and events hand out copies: changing one changes nothing else.
type Member struct {
	// ID is the member's identity: the node's actor system id. It is fresh for
	// every process start, so a node that restarts is a new member (see
	// MembershipConfig.ID).
	ID string
	// Name is the memberlist node name, unique among live members.
	Name string
	// Address is the actor remote address (host:port) other members dial.
	Address string
	// Kinds are the reactor kinds the member hosts, sorted, without duplicates.
	Kinds []string
	// Gossip is the memberlist address (host:port) the member gossips on.
	Gossip string
	// Status is the member's status when it was reported.
	Status Status
}

// Hosts reports whether the member hosts reactors of kind.
func (m Member) Hosts(kind string) bool {
	_, found := slices.BinarySearch(m.Kinds, kind)
	return found
}

// String returns "name (id)".
func (m Member) String() string { return fmt.Sprintf("%s (%s)", m.Name, m.ID) }

func (m Member) clone() Member {
	m.Kinds = slices.Clone(m.Kinds)
	return m
}

// sortedCopies returns copies of the members of ms, sorted by ID.
func sortedCopies(ms map[string]Member) []Member {
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.clone())
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// sameAs reports whether a and b describe the same member identically.
func (m Member) sameAs(o Member) bool {
	return m.ID == o.ID && m.Name == o.Name && m.Address == o.Address &&
		m.Gossip == o.Gossip && m.Status == o.Status && slices.Equal(m.Kinds, o.Kinds)
}

// Status is a member's standing in the cluster. The zero value is not a
// status; every reported member has one of the constants below.
type Status uint8

const (
	// StatusAlive: the member answers, as far as this node knows.
	StatusAlive Status = iota + 1
	// StatusSuspect: the member failed a probe and may be declared dead
	// soon. memberlist v0.7.0 does not tell its delegates about suspicion
	// (the State field of the Node values it hands out is never set), so
	// this layer cannot observe it and currently reports every live member
	// as StatusAlive. The value is kept so that callers handle it once a
	// transport for it exists.
	StatusSuspect
	// StatusLeft: the member announced its departure and memberlist
	// declared it gone.
	StatusLeft
	// StatusDead: memberlist declared the member dead (it stopped
	// answering for longer than the suspicion timeout, or left without
	// announcing it to this node).
	StatusDead
)

// String returns "alive", "suspect", "left" or "dead" (the status field of
// the HTTP API).
func (s Status) String() string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusSuspect:
		return "suspect"
	case StatusLeft:
		return "left"
	case StatusDead:
		return "dead"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Live reports whether a member with this status still counts as a member:
// alive or suspect.
func (s Status) Live() bool { return s == StatusAlive || s == StatusSuspect }

// EventKind says what happened to a member.
type EventKind uint8

const (
	// EventJoined: a member became live. Subscribers also receive one for
	// every member that was live when they subscribed.
	EventJoined EventKind = iota + 1
	// EventUpdated: a live member changed its address or kinds.
	EventUpdated
	// EventLeft: memberlist declared a member gone after it announced its
	// departure (Membership.Leave). Its id never comes back.
	EventLeft
	// EventDied: memberlist declared a member dead, or a member's node name
	// came back with a new id (the process restarted before it was declared
	// dead). Never reported for mere suspicion. Its id never comes back.
	EventDied
)

// String returns "joined", "updated", "left" or "died".
func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventUpdated:
		return "updated"
	case EventLeft:
		return "left"
	case EventDied:
		return "died"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is a change in the membership. Member is the member after the change:
// for EventLeft and EventDied its last known description with StatusLeft or
// StatusDead.
type Event struct {
	Kind   EventKind
	Member Member
}

// String returns, for example, "died n3 (3f9c…)".
func (e Event) String() string { return e.Kind.String() + " " + e.Member.String() }
