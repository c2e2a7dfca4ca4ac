package cluster

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// MembershipConfig configures a Membership. ID and Address are required;
// every other field's zero value works.
type MembershipConfig struct {
	// ClusterName keeps clusters apart. It is memberlist's packet label, so
	// packets and streams of another cluster are dropped unread, and it is
	// carried in every member's metadata, so a peer that names another
	// cluster is refused. At most 255 bytes. Zero: "packetflow".
	ClusterName string
	// NodeName is the memberlist node name; live members must have distinct
	// names. Zero: the host name.
	NodeName string
	// ID is the member's identity, normally the node's actor system id.
	// Required. It must be fresh for every process start: once a member is
	// reported left or dead its id is refused for good (Proto.Actor never
	// readmits a member id it was told has left), so a restarted process that
	// reused its id would never become a member again.
	ID string
	// Rejoin lets this member, when a peer tells it that it was declared
	// dead (after a pause, a partition or a false suspicion), take a fresh
	// id derived from ID ("ID~1", "ID~2", ...) and rejoin under it: its
	// subscribers see its old self die and its new self join. A member on
	// the majority side of a healed partition stays as it is (see
	// downing.go). Zero: it logs that its process must restart instead.
	Rejoin bool
	// Address is the actor remote address (host:port) other members dial to
	// reach this node's actors. Required.
	Address string
	// Kinds are the reactor kinds this node hosts. Order and duplicates do
	// not matter. Their encoding shares memberlist's 512-byte metadata limit
	// with ClusterName, ID and Address. Zero: none.
	Kinds []string
	// Bind is the host:port memberlist listens on, for UDP and TCP. The host
	// must be an IP address; an empty host means every interface. Port 0 picks
	// a free port; Local().Gossip reports the address in use. Ignored when
	// Transport is set. Zero: "127.0.0.1:0".
	Bind string
	// Advertise is the host:port other members use to reach this one when it
	// differs from Bind (NAT, containers). The host must be an IP address;
	// port 0 means the bound port. Ignored when Transport is set. Zero: the
	// bound address (with an empty Bind host, a private IP of this machine).
	Advertise string
	// Join lists peers' gossip addresses (host:port, or memberlist's
	// name/host:port). StartMembership contacts them and retries with
	// backoff until at least one answers or its context ends. Zero: start a
	// new cluster alone.
	Join []string
	// SecretKey enables memberlist's encryption (AES-GCM) of every packet and
	// stream: 16, 24 or 32 bytes for AES-128, -192 or -256. All members must
	// share it. Zero: no encryption.
	SecretKey []byte
	// Profile sets the failure detection and gossip timing. Zero: LANProfile().
	Profile Profile
	// Transport carries memberlist's packets and streams; clustertest uses
	// it for in-memory, partitionable networks. StartMembership owns it from
	// then on: it is shut down with the membership, or at once when
	// StartMembership fails. Zero: UDP and TCP sockets on Bind.
	Transport memberlist.NodeAwareTransport
	// Logger receives this package's logs and, at debug level, memberlist's
	// own. Zero: warnings and errors to standard error.
	Logger *slog.Logger
}

// Profile is the timing of memberlist's failure detection and gossip. Start
// from LANProfile or FastProfile and adjust fields; the zero Profile means
// LANProfile(), any other must set every field.
type Profile struct {
	// ProbeInterval is how often a member probes one other member, chosen
	// round-robin. Lower detects failures sooner for more traffic.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an ack before asking other
	// members to probe indirectly: about the 99th percentile round trip.
	// Below ProbeInterval.
	ProbeTimeout time.Duration
	// SuspicionMult sets how long a member that failed a probe stays suspect,
	// free to refute, before it is declared dead: SuspicionTimeout(n) =
	// SuspicionMult × max(1, log10 n) × ProbeInterval for n members. With
	// SuspicionMult ≤ 2, or fewer than SuspicionMult members, that is the
	// timeout; otherwise memberlist starts at SuspicionMaxTimeoutMult times it
	// and shortens it as other members confirm the suspicion.
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion timeout of an unconfirmed
	// suspicion, as a multiple of SuspicionTimeout(n). At least 1.
	SuspicionMaxTimeoutMult int
	// GossipInterval is how often a member sends queued gossip (joins,
	// suspicions, deaths) to a few random members.
	GossipInterval time.Duration
	// GossipToTheDeadTime is how long a member keeps gossiping to one it
	// declared dead, giving it a chance to learn of it. Zero: never.
	GossipToTheDeadTime time.Duration
	// PushPullInterval is how often a member exchanges its full state with a
	// random other one over a stream: the anti-entropy that repairs lost gossip.
	PushPullInterval time.Duration
	// TCPTimeout bounds dialling, reading and writing a stream (push/pull,
	// fallback probes, joins).
	TCPTimeout time.Duration
	// DeadNodeReclaimTime is how long after a member was declared dead its
	// node name may be taken by a node at another gossip address (a restart
	// on a new port). Zero: never — restart on the same address or with a new
	// node name. Left members' names are free at once.
	DeadNodeReclaimTime time.Duration
	// ReconnectInterval is how often a member exchanges state with one of
	// the members it declared dead, so that both sides of a healed
	// partition, or a paused member, hear from each other again (memberlist
	// itself contacts live members only). Zero: never.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long after declaring a member dead it keeps
	// trying. Used only with ReconnectInterval.
	ReconnectTimeout time.Duration
}

// LANProfile returns memberlist's DefaultLANConfig timing: a dead member is
// declared after about 5 s (probe every 1 s, suspicion 4 s, up to 24 s while
// unconfirmed in clusters of 4 or more); a full state exchange every 30 s.
// Members declared dead are looked for every 10 s for 24 h (Serf's
// reconnect timeout).
func LANProfile() Profile {
	c := memberlist.DefaultLANConfig()
	return Profile{
		ProbeInterval:           c.ProbeInterval,
		ProbeTimeout:            c.ProbeTimeout,
		SuspicionMult:           c.SuspicionMult,
		SuspicionMaxTimeoutMult: c.SuspicionMaxTimeoutMult,
		GossipInterval:          c.GossipInterval,
		GossipToTheDeadTime:     c.GossipToTheDeadTime,
		PushPullInterval:        c.PushPullInterval,
		TCPTimeout:              c.TCPTimeout,
		DeadNodeReclaimTime:     c.DeadNodeReclaimTime,
		ReconnectInterval:       10 * time.Second,
		ReconnectTimeout:        24 * time.Hour,
	}
}

// FastProfile returns the timing for tests and for the failover aim of at
// most 3 s on a LAN or loopback, at about five times LAN's probe traffic:
//
//	ProbeInterval 200ms, ProbeTimeout 100ms   a killed member is probed within
//	                                          (n-1)×200ms and found silent 200ms later
//	SuspicionMult 2                           suspicion timeout 400ms for up to
//	                                          10 members, fixed: no confirmations needed
//	GossipInterval 50ms                       news reaches everyone in a few 50ms rounds
//	GossipToTheDeadTime 2s, PushPullInterval 5s, TCPTimeout 1s,
//	DeadNodeReclaimTime 1s, ReconnectInterval 1s, ReconnectTimeout 24h
//
// A killed member of a 3- or 5-member cluster is reported dead by every
// survivor 0.7–1.0 s later (measured on clustertest's in-memory network
// under -race). A live member must refute a suspicion within 400 ms, which a
// process that stalls (GC, overload) for longer cannot: it is then declared
// dead and must restart with a fresh id.
func FastProfile() Profile {
	return Profile{
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		SuspicionMult:           2,
		SuspicionMaxTimeoutMult: 3,
		GossipInterval:          50 * time.Millisecond,
		GossipToTheDeadTime:     2 * time.Second,
		PushPullInterval:        5 * time.Second,
		TCPTimeout:              time.Second,
		DeadNodeReclaimTime:     time.Second,
		ReconnectInterval:       time.Second,
		ReconnectTimeout:        24 * time.Hour,
	}
}

// SuspicionTimeout is how long a member of a cluster of n members stays
// suspect before it is declared dead, when no confirmations are awaited
// (see SuspicionMult).
func (p Profile) SuspicionTimeout(n int) time.Duration {
	scale := 1.0
	if n > 10 {
		scale = math.Log10(float64(n))
	}
	return time.Duration(float64(p.SuspicionMult) * scale * float64(p.ProbeInterval))
}

func (p Profile) validate() error {
	var problem string
	switch {
	case p.ProbeInterval <= 0:
		problem = "ProbeInterval must be positive"
	case p.ProbeTimeout <= 0 || p.ProbeTimeout >= p.ProbeInterval:
		problem = "ProbeTimeout must be positive and below ProbeInterval"
	case p.SuspicionMult < 1:
		problem = "SuspicionMult must be at least 1"
	case p.SuspicionMaxTimeoutMult < 1:
		problem = "SuspicionMaxTimeoutMult must be at least 1"
	case p.GossipInterval <= 0:
		problem = "GossipInterval must be positive"
	case p.GossipToTheDeadTime < 0:
		problem = "GossipToTheDeadTime must not be negative"
	case p.PushPullInterval <= 0:
		problem = "PushPullInterval must be positive"
	case p.TCPTimeout <= 0:
		problem = "TCPTimeout must be positive"
	case p.DeadNodeReclaimTime < 0:
		problem = "DeadNodeReclaimTime must not be negative"
	case p.ReconnectInterval < 0 || p.ReconnectTimeout < 0:
		problem = "ReconnectInterval and ReconnectTimeout must not be negative"
	case p.ReconnectInterval > 0 && p.ReconnectTimeout == 0:
		problem = "ReconnectTimeout must be set with ReconnectInterval"
	default:
		return nil
	}
	return fmt.Errorf("%w: Profile: %s (start from LANProfile() or FastProfile())", ErrInvalidConfig, problem)
}

func (p Profile) apply(c *memberlist.Config) {
	c.ProbeInterval = p.ProbeInterval
	c.ProbeTimeout = p.ProbeTimeout
	c.SuspicionMult = p.SuspicionMult
	c.SuspicionMaxTimeoutMult = p.SuspicionMaxTimeoutMult
	c.GossipInterval = p.GossipInterval
	c.GossipToTheDeadTime = p.GossipToTheDeadTime
	c.PushPullInterval = p.PushPullInterval
	c.TCPTimeout = p.TCPTimeout
	c.DeadNodeReclaimTime = p.DeadNodeReclaimTime
}

// settings is a validated MembershipConfig with its defaults applied.
type settings struct {
	cluster   string
	local     Member // without Gossip, known once memberlist listens
	meta      []byte
	bindHost  string
	bindPort  int
	advHost   string
	advPort   int
	join      []string
	key       []byte
	profile   Profile
	rejoin    bool
	transport memberlist.NodeAwareTransport
	logger    *slog.Logger
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func (c MembershipConfig) settle() (s settings, err error) {
	s.cluster = c.ClusterName
	if s.cluster == "" {
		s.cluster = DefaultClusterName
	}
	if len(s.cluster) > memberlist.LabelMaxSize {
		return s, invalid("ClusterName is %d bytes, over memberlist's label limit of %d", len(s.cluster), memberlist.LabelMaxSize)
	}
	name := c.NodeName
	if name == "" {
		if name, err = os.Hostname(); err != nil || name == "" {
			return s, invalid("no NodeName and no host name to default to (%v)", err)
		}
	}
	if c.ID == "" {
		return s, invalid("ID is required (the node's actor system id, fresh for every process start)")
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		return s, invalid("Address %q is not host:port (the actor remote address others dial): %v", c.Address, err)
	}
	kinds, err := normalizeKinds(c.Kinds)
	if err != nil {
		return s, err
	}
	s.local = Member{ID: c.ID, Name: name, Address: c.Address, Kinds: kinds, Status: StatusAlive}
	if s.meta, err = encodeMeta(s.cluster, s.local); err != nil {
		return s, err
	}
	bind := c.Bind
	if bind == "" {
		bind = DefaultBind
	}
	if s.bindHost, s.bindPort, err = ipPort("Bind", bind); err != nil {
		return s, err
	}
	if s.bindHost == "" {
		s.bindHost = "0.0.0.0"
	}
	if c.Advertise != "" {
		if s.advHost, s.advPort, err = ipPort("Advertise", c.Advertise); err != nil {
			return s, err
		}
		if s.advHost == "" {
			return s, invalid("Advertise %q has no host", c.Advertise)
		}
	}
	for _, j := range c.Join {
		if strings.TrimSpace(j) == "" {
			return s, invalid("Join has an empty address")
		}
	}
	s.join = slices.Clone(c.Join)
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
		s.key = slices.Clone(c.SecretKey)
	default:
		return s, invalid("SecretKey is %d bytes; memberlist's encryption key must be 16, 24 or 32 bytes (AES-128, -192, -256)", len(c.SecretKey))
	}
	s.profile = c.Profile
	if s.profile == (Profile{}) {
		s.profile = LANProfile()
	}
	if err := s.profile.validate(); err != nil {
		return s, err
	}
	s.rejoin = c.Rejoin
	s.transport = c.Transport
	s.logger = c.Logger
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return s, nil
}

// ipPort splits "ip:port" where the ip may be empty.
func ipPort(field, hostport string) (string, int, error) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, invalid("%s %q is not host:port: %v", field, hostport, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", 0, invalid("%s %q has a bad port", field, hostport)
	}
	if host != "" && net.ParseIP(host) == nil {
		return "", 0, invalid("%s %q: the host must be an IP address", field, hostport)
	}
	return host, int(port), nil
}
