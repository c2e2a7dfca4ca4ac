package clustertest

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Network is an in-memory network of memberlist transports, one per node
// name, that can be partitioned and healed. It is safe for concurrent use
// and owns no goroutines.
//
// It is written against memberlist.NodeAwareTransport, in the manner of
// memberlist's MockNetwork, rather than built on MockNetwork or on loopback
// sockets:
//
//   - MockTransport delivers by blocking sends on unbuffered channels and its
//     Shutdown does nothing, so a packet or stream to a stopped node blocks
//     the sender forever — exactly what killing a node does. MockNetwork's
//     maps are also unsynchronized, so adding a node while others run races.
//   - Loopback sockets (NetTransport) work, but cost ports and file
//     descriptors, and a partition would still have to be imposed by a
//     wrapper. The cluster package's own tests run one membership over real
//     UDP and TCP to cover that transport.
//
// Here a packet is dropped, as UDP would drop it, when its destination is
// stopped, unknown, partitioned away or has a full queue (1024 packets); a
// stream is refused, as by a closed port, in the same cases; streams are
// net.Pipe pairs. A node name keeps its address when it is started again, as
// a process restarting on the same host and port would.
type Network struct {
	// mu guards the fields below.
	mu       sync.Mutex
	live     map[string]*transport // by address
	intents  map[string]*intents   // open intent transports, by address
	addrs    map[string]string     // node name → address, kept across restarts
	groups   map[string]int        // node name → partition group; nil when healed
	nextPort int
	names    int // node names handed out by Prepare
	ids      int // member ids handed out by Prepare
	dropped  uint64
	faults   func(from, to string) IntentFault // nil: none
}

// NewNetwork returns an empty, healed network.
func NewNetwork() *Network {
	return &Network{
		live:     make(map[string]*transport),
		intents:  make(map[string]*intents),
		addrs:    make(map[string]string),
		nextPort: 7946,
	}
}

// Transport returns a new transport for node name, at the address the name
// had before or a new one ("127.0.0.1:port", never a real socket). It
// panics if a transport for name is still open: names are unique among
// running nodes.
func (n *Network) Transport(name string) memberlist.NodeAwareTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	addr, ok := n.addrs[name]
	if !ok {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.nextPort))
		n.nextPort++
		n.addrs[name] = addr
	}
	if t := n.live[addr]; t != nil {
		panic(fmt.Sprintf("clustertest: node %q is already running on this network", name))
	}
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	t := &transport{
		net:     n,
		name:    name,
		addr:    memAddr(addr),
		port:    port,
		packets: make(chan *memberlist.Packet, packetQueue),
		streams: make(chan net.Conn, streamQueue),
	}
	n.live[addr] = t
	return t
}

// Partition splits the network: packets between nodes of different groups
// are dropped and streams between them refused. Nodes named in no group form
// one more group together, so Partition([]string{"n1"}) isolates n1. It
// replaces any earlier partition; established streams are not cut. It
// panics if a name appears twice.
func (n *Network) Partition(groups ...[]string) {
	g := make(map[string]int)
	for i, group := range groups {
		for _, name := range group {
			if _, dup := g[name]; dup {
				panic(fmt.Sprintf("clustertest: node %q is in two partition groups", name))
			}
			g[name] = i
		}
	}
	n.mu.Lock()
	n.groups = g
	n.mu.Unlock()
}

// Heal ends any partition.
func (n *Network) Heal() {
	n.mu.Lock()
	n.groups = nil
	n.mu.Unlock()
}

// Dropped returns how many packets the network has dropped so far.
func (n *Network) Dropped() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dropped
}

// route returns the open transport at addr if from may reach it.
func (n *Network) route(from, addr string) *transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.live[addr]
	if t == nil || n.cut(from, t.name) {
		n.dropped++
		return nil
	}
	return t
}

// cut reports whether a partition separates nodes a and b.
func (n *Network) cut(a, b string) bool {
	if n.groups == nil {
		return false
	}
	ga, ok := n.groups[a]
	if !ok {
		ga = -1
	}
	gb, ok := n.groups[b]
	if !ok {
		gb = -1
	}
	return ga != gb
}

func (n *Network) remove(t *transport) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.live[string(t.addr)] == t {
		delete(n.live, string(t.addr))
	}
}

const (
	packetQueue = 1024
	streamQueue = 64
)

var errClosed = errors.New("clustertest: transport is shut down")

// transport is one node's memberlist.NodeAwareTransport on a Network.
type transport struct {
	net  *Network
	name string
	addr memAddr
	port int

	packets chan *memberlist.Packet
	streams chan net.Conn

	// mu guards closed, and makes delivering into the queues and closing
	// exclusive: nothing enters a queue after Shutdown.
	mu     sync.Mutex
	closed bool
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

// FinalAdvertiseAddr returns the transport's address, whatever is configured.
func (t *transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(127, 0, 0, 1), t.port, nil
}

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress delivers a copy of b to the transport at a.Addr, or drops it.
func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	if t.isClosed() {
		return now, errClosed
	}
	dst := t.net.route(t.name, a.Addr)
	if dst == nil {
		return now, nil
	}
	p := &memberlist.Packet{Buf: slices.Clone(b), From: t.addr, Timestamp: now}
	dst.mu.Lock()
	delivered := false
	if !dst.closed {
		select {
		case dst.packets <- p:
			delivered = true
		default:
		}
	}
	dst.mu.Unlock()
	if !delivered {
		t.net.mu.Lock()
		t.net.dropped++
		t.net.mu.Unlock()
	}
	return now, nil
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout connects to the transport at a.Addr, or is refused.
func (t *transport) DialAddressTimeout(a memberlist.Address, _ time.Duration) (net.Conn, error) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: memAddr(a.Addr), Err: errors.New("connection refused")}
	if t.isClosed() {
		return nil, errClosed
	}
	dst := t.net.route(t.name, a.Addr)
	if dst == nil {
		return nil, refused
	}
	client, server := net.Pipe()
	dst.mu.Lock()
	accepted := false
	if !dst.closed {
		select {
		case dst.streams <- &conn{Conn: server, local: dst.addr, remote: t.addr}:
			accepted = true
		default:
		}
	}
	dst.mu.Unlock()
	if !accepted {
		_ = client.Close()
		_ = server.Close()
		return nil, refused
	}
	return &conn{Conn: client, local: t.addr, remote: dst.addr}, nil
}

func (t *transport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown takes the transport off the network and closes the streams
// nobody accepted. Packets still queued are dropped with the transport.
func (t *transport) Shutdown() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.net.remove(t)
	for {
		select {
		case c := <-t.streams:
			_ = c.Close()
		default:
			return nil
		}
	}
}

func (t *transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// memAddr is a network address on a Network.
type memAddr string

func (a memAddr) Network() string { return "clustertest" }
func (a memAddr) String() string  { return string(a) }

// conn is one end of a stream, with the network's addresses.
type conn struct {
	net.Conn
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
