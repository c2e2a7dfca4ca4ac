package cluster

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/packetflow/packetflow/cluster/clusterpb"
)

// Coming back from the dead.
//
// memberlist heals a short partition by itself, but once a member has been
// declared dead two things keep it out for good. Nobody contacts it any
// more: probes, gossip and state exchanges go to live members only, so the
// two sides of a healed partition never hear from each other again. And
// even when they do, its id is refused (admission): Proto.Actor, and the
// placement built on ids, must never see a member id come back after it
// was reported gone, since its reactors have already moved.
//
// So, as Serf does, a member keeps the gossip addresses of the members it
// declared dead and, every Profile.ReconnectInterval for up to
// Profile.ReconnectTimeout, exchanges state with one of them. When a peer
// whose id it declared dead turns out to be alive (from that exchange,
// from the peer's own gossip after a pause, or from a stale view), it
// tells the peer with a Downed notice. The peer rejoins under a fresh id —
// a new incarnation that admission admits and that drops every reactor
// activation of the old one (Node does that on its own EventDied) —
// unless it declared the sender dead too and sees more live members than
// the sender does: in a healed partition the smaller side starts afresh,
// as with Akka's keep-majority downing. When both see as many (views that
// overlap through a member both sides readmitted), the one with the
// greater id rejoins, so exactly one of the two does. Without
// MembershipConfig.Rejoin the member only logs that its process must
// restart.

// deadPeer is a member declared dead and not back yet: where to look for it.
type deadPeer struct {
	id     string
	gossip string
	since  time.Time
}

// noteDied records a member declared dead, for reconnect. Delivery goroutine.
func (m *Membership) noteDied(old Member) {
	if old.Gossip == "" || old.Name == m.name {
		return
	}
	m.downMu.Lock()
	m.dead[old.Name] = deadPeer{id: old.ID, gossip: old.Gossip, since: time.Now()}
	m.downMu.Unlock()
}

// noteBack forgets a dead member once its name is live again (refuted or
// restarted). Delivery goroutine.
func (m *Membership) noteBack(name string) {
	m.downMu.Lock()
	delete(m.dead, name)
	m.downMu.Unlock()
}

// reconnect is the goroutine that looks for dead members and carries out a
// rejoin; shutdownLocked stops it.
func (m *Membership) reconnect() {
	defer close(m.reconnectDone)
	var tick <-chan time.Time
	if m.profile.ReconnectInterval > 0 {
		t := time.NewTicker(m.profile.ReconnectInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-m.stop:
			return
		case id := <-m.rejoinSignal:
			m.rejoinFresh(id)
		case <-tick:
			if p, ok := m.pickDead(); ok && m.answers(p.gossip) {
				if _, err := m.ml.Join([]string{p.gossip}); err != nil {
					m.logger.Debug("cluster: dead member did not join", "gossip", p.gossip, "error", err)
				}
			}
		}
	}
}

// answers reports whether something accepts a stream at addr within a
// probe interval. memberlist's Join would wait for its whole TCPTimeout (10
// s on the LAN profile) at an address that drops packets, and so would
// Shutdown, which waits for this goroutine.
func (m *Membership) answers(addr string) bool {
	conn, err := m.dial(addr, m.profile.ProbeInterval)
	if err != nil {
		m.logger.Debug("cluster: dead member still unreachable", "gossip", addr, "error", err)
		return false
	}
	_ = conn.Close()
	return true
}

// pickDead returns a random member declared dead less than
// ReconnectTimeout ago, forgetting older ones.
func (m *Membership) pickDead() (deadPeer, bool) {
	m.downMu.Lock()
	defer m.downMu.Unlock()
	var picked deadPeer
	n := 0
	for name, p := range m.dead {
		if time.Since(p.since) > m.profile.ReconnectTimeout {
			delete(m.dead, name)
			continue
		}
		n++
		if rand.IntN(n) == 0 {
			picked = p
		}
	}
	return picked, n > 0
}

// tellDowned answers a peer whose id this member declared dead and that is
// alive after all. Delivery goroutine; at most once per ProbeInterval per id.
func (m *Membership) tellDowned(peer Member) {
	if peer.Name == m.name || peer.Gossip == "" {
		return
	}
	if last, ok := m.told[peer.ID]; ok && time.Since(last) < m.profile.ProbeInterval {
		return
	}
	if len(m.told) >= maxRefusalsRemembered {
		clear(m.told)
	}
	m.told[peer.ID] = time.Now()
	local := m.Local()
	m.viewMu.RLock()
	live := len(m.view)
	m.viewMu.RUnlock()
	notice := encodeNotice(&clusterpb.Notice{Body: &clusterpb.Notice_Downed{Downed: &clusterpb.Downed{
		Cluster: m.cluster, Node: local.Name, Id: local.ID, DownedId: peer.ID, Live: uint32(live),
	}}})
	if err := m.ml.SendToAddress(memberlist.Address{Addr: peer.Gossip, Name: peer.Name}, notice); err != nil {
		m.logger.Debug("cluster: telling a member it was declared dead", "to", peer.Name, "error", err)
	}
	m.logger.Info("cluster: member declared dead is alive; told it to rejoin under a fresh id",
		"node", peer.Name, "id", peer.ID)
}

// downed handles a Downed notice from sender, which sees senderLive live
// members, about id. Delivery goroutine.
func (m *Membership) downed(sender Member, senderLive int, id string) {
	if id != m.Local().ID {
		return // about an id this member no longer has
	}
	m.viewMu.RLock()
	live := len(m.view)
	m.viewMu.RUnlock()
	if m.admit.isGone(sender.ID) && (live > senderLive || live == senderLive && id < sender.ID) {
		m.logger.Info("cluster: a member this one declared dead declared it dead too; the larger side stays",
			"by", sender.Name, "live", live, "their_live", senderLive)
		return
	}
	if !m.rejoin {
		m.logger.Error("cluster: this member was declared dead by its peers; restart the process to rejoin under a fresh id",
			"by", sender.Name, "id", id)
		return
	}
	m.logger.Warn("cluster: this member was declared dead by its peers; rejoining under a fresh id",
		"by", sender.Name, "id", id, "live", live, "their_live", senderLive)
	select {
	case m.rejoinSignal <- id:
	default: // a rejoin is pending already
	}
}

// rejoinFresh takes a fresh id in place of downed, forgets the deaths its
// old incarnation declared, gossips the new id and contacts the members it
// holds dead. Several peers may report the same death: only the first
// notice about the current id counts. Reconnect goroutine.
func (m *Membership) rejoinFresh(downed string) {
	select {
	case <-m.stop:
		return
	default:
	}
	m.localMu.Lock()
	old := m.local.clone()
	if old.Status != StatusAlive || old.ID != downed {
		m.localMu.Unlock()
		return // leaving, or rejoined already
	}
	m.generation++
	next := old.clone()
	next.ID = m.baseID + "~" + strconv.Itoa(m.generation)
	meta, err := encodeMeta(m.cluster, next)
	if err == nil {
		m.local, m.meta = next, meta
	}
	m.localMu.Unlock()
	if err != nil {
		m.logger.Error("cluster: cannot take a fresh id", "error", err)
		return
	}
	m.admit.forgetDeaths()
	m.enqueue(notification{kind: noteRejoined, member: next, old: old})
	if err := m.ml.UpdateNode(m.profile.TCPTimeout); err != nil {
		m.logger.Debug("cluster: gossiping the fresh id", "error", err)
	}
	m.downMu.Lock()
	dead := make([]string, 0, len(m.dead))
	for _, p := range m.dead {
		dead = append(dead, p.gossip)
	}
	m.downMu.Unlock()
	peers := dead[:0]
	for _, addr := range dead {
		if m.answers(addr) {
			peers = append(peers, addr)
		}
	}
	if len(peers) > 0 {
		if _, err := m.ml.Join(peers); err != nil {
			m.logger.Debug("cluster: contacting members after rejoining", "error", err)
		}
	}
	m.logger.Warn("cluster: rejoined under a fresh id", "old", old.ID, "id", next.ID)
}

// rejoined moves the view from the old incarnation to the new one.
// Delivery goroutine.
func (m *Membership) rejoined(old, next Member) {
	m.viewMu.Lock()
	m.view[m.name] = next
	m.viewMu.Unlock()
	gone := old
	gone.Status = StatusDead
	m.emit(Event{Kind: EventDied, Member: gone})
	m.emit(Event{Kind: EventJoined, Member: next})
}
