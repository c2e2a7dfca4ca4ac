package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/cluster/clusterpb"
)

// MetaTooLargeError reports gossip metadata that does not fit memberlist's
// limit on node metadata. It matches ErrInvalidConfig.
type MetaTooLargeError struct {
	Size  int // bytes of the encoded metadata
	Limit int // memberlist.MetaMaxSize
	Kinds int // number of kinds in it, the usual culprit
}

// Error returns, for example, "cluster: gossip metadata is 530 bytes, over
// memberlist's limit of 512 bytes (too many kinds: 40)".
func (e *MetaTooLargeError) Error() string {
	return fmt.Sprintf("cluster: gossip metadata is %d bytes, over memberlist's limit of %d bytes (too many kinds: %d)",
		e.Size, e.Limit, e.Kinds)
}

// Unwrap returns ErrInvalidConfig.
func (e *MetaTooLargeError) Unwrap() error { return ErrInvalidConfig }

// encodeMeta returns the gossip metadata of a member: a MemberMeta in
// protobuf's compact encoding, at most memberlist.MetaMaxSize bytes.
func encodeMeta(cluster string, m Member) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&clusterpb.MemberMeta{
		Cluster: cluster,
		Id:      m.ID,
		Address: m.Address,
		Kinds:   m.Kinds,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: encoding gossip metadata: %w", err)
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, &MetaTooLargeError{Size: len(b), Limit: memberlist.MetaMaxSize, Kinds: len(m.Kinds)}
	}
	return b, nil
}

// memberOf decodes a peer's gossip metadata into the member it describes. It
// fails, and the peer is refused, when the metadata does not decode, names
// another cluster, or lacks an id or an address.
func memberOf(n *memberlist.Node, cluster string) (Member, error) {
	var meta clusterpb.MemberMeta
	if err := proto.Unmarshal(n.Meta, &meta); err != nil {
		return Member{}, fmt.Errorf("malformed metadata (%d bytes): %v", len(n.Meta), err)
	}
	switch {
	case meta.GetCluster() != cluster:
		return Member{}, fmt.Errorf("it belongs to cluster %q, not %q", meta.GetCluster(), cluster)
	case meta.GetId() == "":
		return Member{}, errors.New("its metadata has no member id")
	case meta.GetAddress() == "":
		return Member{}, errors.New("its metadata has no actor address")
	}
	kinds := slices.Clone(meta.GetKinds())
	slices.Sort(kinds)
	return Member{
		ID:      meta.GetId(),
		Name:    n.Name,
		Address: meta.GetAddress(),
		Kinds:   slices.Compact(kinds),
		Gossip:  n.Address(),
		Status:  StatusAlive,
	}, nil
}

// normalizeKinds returns kinds sorted and without duplicates; an empty kind
// is an error.
func normalizeKinds(kinds []string) ([]string, error) {
	out := slices.Clone(kinds)
	for _, k := range out {
		if k == "" {
			return nil, fmt.Errorf("%w: empty reactor kind in Kinds", ErrInvalidConfig)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Notices are memberlist user messages between members: the departure
// handshake of Leave.

func encodeNotice(n *clusterpb.Notice) []byte {
	b, err := proto.Marshal(n)
	if err != nil {
		// A Notice holds only strings that came from our own config.
		panic(fmt.Sprintf("cluster: encoding notice: %v", err))
	}
	return b
}

func departureNotice(cluster string, local Member) []byte {
	return encodeNotice(&clusterpb.Notice{Body: &clusterpb.Notice_Departure{Departure: &clusterpb.Departure{
		Cluster: cluster, Node: local.Name, Id: local.ID,
	}}})
}

func departureAck(cluster, node, departingID string) []byte {
	return encodeNotice(&clusterpb.Notice{Body: &clusterpb.Notice_DepartureAck{DepartureAck: &clusterpb.DepartureAck{
		Cluster: cluster, Node: node, DepartingId: departingID,
	}}})
}

// admission decides which peers may become members. memberlist asks it about
// every alive message (AliveDelegate) and before merging the state of a node
// it joins or that joins it (MergeDelegate). A refused peer never enters
// memberlist's node list, so it is never reported; each refusal is logged
// once per node and reason. A peer is refused when its metadata does not
// decode, names another cluster or lacks an id or address, when its id was
// already reported left or dead, or when a live node of another name has
// its id. A join is refused as a whole only when the other side belongs to
// another cluster.
//
// Its methods run on memberlist's goroutines, NotifyAlive with memberlist's
// node lock held; they take only admission's own lock.
type admission struct {
	cluster string
	logger  *slog.Logger
	// zombie is told about a refused peer whose id was reported dead: it
	// must learn that it was, to rejoin under a fresh id. Set before
	// memberlist starts; it must not block.
	zombie func(Member)

	// mu guards the maps below.
	mu      sync.Mutex
	ids     map[string]string   // node name → id of each node memberlist lists
	names   map[string]string   // id → node name, the same nodes
	gone    map[string]struct{} // ids reported left or dead: refused for good
	refused map[string]string   // node name → the refusal reason last logged
}

// maxRefusalsRemembered bounds admission.refused against a flood of names.
const maxRefusalsRemembered = 1024

func newAdmission(cluster string, logger *slog.Logger) *admission {
	return &admission{
		cluster: cluster,
		logger:  logger,
		ids:     make(map[string]string),
		names:   make(map[string]string),
		gone:    make(map[string]struct{}),
		refused: make(map[string]string),
	}
}

// NotifyAlive admits or refuses the node an alive message is about.
func (a *admission) NotifyAlive(peer *memberlist.Node) error {
	m, err := memberOf(peer, a.cluster)
	if err == nil {
		if err = a.check(peer.Name, m.ID); errors.Is(err, errGone) && a.zombie != nil {
			a.zombie(m)
		}
	}
	if err != nil {
		a.refuse(peer.Name, err)
		return err
	}
	return nil
}

// errGone marks a refusal of an id reported left or dead.
var errGone = errors.New("was already reported left or dead")

// NotifyMerge refuses to merge with nodes of another cluster.
func (a *admission) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if p.State == memberlist.StateDead || p.State == memberlist.StateLeft {
			continue
		}
		var meta clusterpb.MemberMeta
		if proto.Unmarshal(p.Meta, &meta) != nil || meta.GetCluster() == a.cluster {
			continue // a bad node alone is NotifyAlive's to refuse
		}
		err := fmt.Errorf("cluster: refusing to merge with node %q of cluster %q (this is cluster %q)", p.Name, meta.GetCluster(), a.cluster)
		a.refuse(p.Name, err)
		return err
	}
	return nil
}

func (a *admission) check(name, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.gone[id]; ok {
		return fmt.Errorf("member id %q %w; a restarted node needs a fresh id", id, errGone)
	}
	if other, ok := a.names[id]; ok && other != name {
		return fmt.Errorf("member id %q is already used by node %q", id, other)
	}
	return nil
}

func (a *admission) refuse(name string, reason error) {
	a.mu.Lock()
	last, seen := a.refused[name]
	first := !seen || last != reason.Error()
	if first {
		if len(a.refused) >= maxRefusalsRemembered {
			clear(a.refused)
		}
		a.refused[name] = reason.Error()
	}
	a.mu.Unlock()
	if first {
		a.logger.Warn("cluster: refused peer", "node", name, "reason", reason.Error())
	}
}

// listed records that memberlist lists node name with id. A node listed
// again under a new id has restarted: its old id is gone.
func (a *admission) listed(name, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.ids[name]; ok && old != id {
		delete(a.names, old)
		a.gone[old] = struct{}{}
	}
	a.ids[name] = id
	a.names[id] = name
	delete(a.refused, name)
}

// isGone reports whether id was reported left or dead.
func (a *admission) isGone(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.gone[id]
	return ok
}

// forgetDeaths forgets every id reported left or dead: this member has
// rejoined under a fresh id, a new incarnation that has declared nobody
// dead.
func (a *admission) forgetDeaths() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.gone)
	clear(a.refused)
}

// unlisted records that memberlist declared node name dead or left.
func (a *admission) unlisted(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.ids[name]; ok {
		delete(a.ids, name)
		delete(a.names, id)
		a.gone[id] = struct{}{}
	}
}

// hooks are memberlist's Delegate and EventDelegate. memberlist calls them
// from its own goroutines, the event methods with its node lock held: they
// never block and never call back into memberlist.
type hooks struct{ m *Membership }

// NodeMeta returns this member's gossip metadata.
func (h hooks) NodeMeta(limit int) []byte {
	h.m.localMu.Lock()
	defer h.m.localMu.Unlock()
	if len(h.m.meta) > limit { // encodeMeta keeps it within MetaMaxSize
		h.m.logger.Error("cluster: gossip metadata over memberlist's limit", "size", len(h.m.meta), "limit", limit)
		return nil
	}
	return slices.Clone(h.m.meta)
}

// NotifyMsg receives the departure handshake's notices.
func (h hooks) NotifyMsg(b []byte) {
	var n clusterpb.Notice
	if err := proto.Unmarshal(b, &n); err != nil {
		h.m.logger.Debug("cluster: dropping malformed notice", "bytes", len(b), "error", err)
		return
	}
	switch body := n.GetBody().(type) {
	case *clusterpb.Notice_Departure:
		d := body.Departure
		if d.GetCluster() == h.m.cluster && d.GetId() != "" {
			h.m.enqueue(notification{kind: noteDeparture, member: Member{Name: d.GetNode(), ID: d.GetId()}})
		}
	case *clusterpb.Notice_Downed:
		d := body.Downed
		if d.GetCluster() == h.m.cluster && d.GetDownedId() != "" {
			h.m.enqueue(notification{kind: noteDowned, member: Member{Name: d.GetNode(), ID: d.GetId()}, id: d.GetDownedId(), live: int(d.GetLive())})
		}
	case *clusterpb.Notice_DepartureAck:
		a := body.DepartureAck
		if a.GetCluster() == h.m.cluster && a.GetDepartingId() == h.m.Local().ID {
			h.m.ackMu.Lock()
			h.m.acks[a.GetNode()] = struct{}{}
			h.m.ackMu.Unlock()
			select {
			case h.m.ackSignal <- struct{}{}:
			default:
			}
		}
	}
}

// GetBroadcasts has nothing to broadcast.
func (hooks) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState has no state beyond memberlist's.
func (hooks) LocalState(bool) []byte { return nil }

// MergeRemoteState has no state beyond memberlist's.
func (hooks) MergeRemoteState([]byte, bool) {}

// NotifyJoin: memberlist lists a node (admitted by NotifyAlive).
func (h hooks) NotifyJoin(n *memberlist.Node) { h.live(n) }

// NotifyUpdate: a listed node's metadata changed.
func (h hooks) NotifyUpdate(n *memberlist.Node) { h.live(n) }

func (h hooks) live(n *memberlist.Node) {
	mem, err := memberOf(n, h.m.cluster)
	if err != nil { // NotifyAlive refused such nodes already
		h.m.logger.Error("cluster: memberlist listed a node with bad metadata", "node", n.Name, "error", err)
		return
	}
	h.m.admit.listed(mem.Name, mem.ID)
	h.m.enqueue(notification{kind: noteLive, member: mem})
}

// NotifyLeave: memberlist declared a node dead or left. (It is never called
// for a suspect node.)
func (h hooks) NotifyLeave(n *memberlist.Node) {
	h.m.admit.unlisted(n.Name)
	h.m.enqueue(notification{kind: noteGone, member: Member{Name: n.Name}})
}

// memberlistLog passes memberlist's log lines ("[WARN] memberlist: text") to
// slog at debug level, with memberlist's level as an attribute.
type memberlistLog struct{ logger *slog.Logger }

func (w memberlistLog) Write(p []byte) (int, error) {
	if !w.logger.Enabled(context.Background(), slog.LevelDebug) {
		return len(p), nil
	}
	line := strings.TrimSpace(string(p))
	level := ""
	if strings.HasPrefix(line, "[") {
		if end := strings.IndexByte(line, ']'); end > 0 {
			level, line = line[1:end], strings.TrimSpace(line[end+1:])
		}
	}
	w.logger.Debug(strings.TrimPrefix(line, "memberlist: "), "component", "memberlist", "memberlist_level", level)
	return len(p), nil
}
