package cluster

import "sort"

// Placement decides which member owns a virtual reactor (kind, identity):
// among the members that host the kind, the one with the highest
// rendezvous (highest-random-weight) score for the identity. Every member
// that sees the same membership computes the same owner without talking to
// the others, and when a member joins or leaves only the identities it
// gains or loses move.
//
// A Placement is an immutable snapshot of the membership; build a new one
// on every topology change. It is safe for concurrent use.
type Placement struct {
	byKind map[string][]host // hosts of each kind, sorted by ID
}

type host struct {
	id   string
	hash uint64 // of id, so a score needs one mix per candidate
}

// NewPlacement snapshots members: member ID → reactor kinds it hosts.
func NewPlacement(members map[string][]string) *Placement {
	p := &Placement{byKind: map[string][]host{}}
	for id, kinds := range members {
		h := host{id: id, hash: hashString(fnvOffset, id)}
		for _, k := range kinds {
			p.byKind[k] = append(p.byKind[k], h)
		}
	}
	for _, hs := range p.byKind {
		sort.Slice(hs, func(i, j int) bool { return hs[i].id < hs[j].id })
	}
	return p
}

// Owner returns the ID of the member that owns (kind, identity), or false
// when no member hosts the kind. It does not allocate.
func (p *Placement) Owner(kind, identity string) (string, bool) {
	hosts := p.byKind[kind]
	if len(hosts) == 0 {
		return "", false
	}
	key := hashString(hashString(fnvOffset, kind)^0xff, identity)
	best, bestScore := 0, uint64(0)
	for i, h := range hosts {
		// Ties (astronomically rare) go to the lowest ID: hosts are sorted
		// and only a strictly higher score replaces the best.
		if s := mix(key ^ h.hash); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return hosts[best].id, true
}

// Hosts lists the IDs of the members hosting kind, sorted.
func (p *Placement) Hosts(kind string) []string {
	hs := p.byKind[kind]
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.id
	}
	return ids
}

// The hash must be the same on every member, in every process and build,
// so it is spelled out here: FNV-1a over the bytes, finished with the
// splitmix64 finaliser for avalanche.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
