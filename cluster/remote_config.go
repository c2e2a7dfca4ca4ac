package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/packetflow/packetflow/intent"
)

// ErrInvalidRemoteConfig: a RemoteConfig field is malformed, or the actor
// system cannot carry a remote (see StartRemote).
var ErrInvalidRemoteConfig = errors.New("cluster: invalid remote config")

// DefaultRemoteBind is the listen address of a zero RemoteConfig.
const DefaultRemoteBind = "127.0.0.1:0"

// RemoteConfig configures the remote transport that carries intents between
// members (see StartRemote). The zero value is a plaintext transport on a
// free loopback port.
type RemoteConfig struct {
	// Bind is the host:port Proto.Actor's gRPC server listens on. Port 0
	// picks a free port; Remote.Address reports the address in use. A host
	// that names every interface ("", "0.0.0.0", "::") is not an address
	// peers can dial, so it needs Advertise. Zero: "127.0.0.1:0".
	Bind string
	// Advertise is the host:port peers dial when it differs from Bind (NAT,
	// containers). It becomes the actor system's address, so every PID this
	// node hands out, and every member's gossip, names it. Port 0 means
	// Bind's port, which must then not be 0 itself. Zero: the bound address.
	Advertise string
	// TLS enables mutual TLS between members. The same configuration serves
	// both roles: its Certificates (or GetCertificate/GetClientCertificate)
	// are this node's certificate as a server and as a client; ClientCAs
	// verifies the certificates of peers that dial in (it defaults to
	// RootCAs) and RootCAs verifies the peers this node dials (it defaults to
	// ClientCAs). The server always requires and verifies a client
	// certificate, whatever ClientAuth says. Peers are dialled by the host of
	// their address, which their certificate must name (an IP SAN for an IP).
	// MutualTLS and LoadMutualTLS build such a configuration.
	//
	// Zero: plaintext, logged as a warning, because without TLS any process
	// that reaches Bind is trusted as a member: it can send intents carrying
	// any grants (see StartRemote, "Trust").
	TLS *tls.Config
	// RequestTimeout bounds Request when neither its context nor the
	// envelope has a deadline, and the intake's wait for an arriving envelope
	// that has none. Zero: 30s.
	RequestTimeout time.Duration
	// DrainTimeout is how long Stop lets intents that arrived before it
	// finish and be answered before it cancels them (they are then answered
	// UNAVAILABLE, though their reactor may still commit them). Zero: 5s.
	DrainTimeout time.Duration
	// ConnectAttempts is how often Proto.Actor dials a peer before it gives
	// up on it. It waits 2 s after every failed attempt, and messages to that
	// peer wait with it; once it gives up they are dropped and their Requests
	// fail with intent.ErrUnavailable, and the next message dials afresh.
	// Proto.Actor's own default is 5, which holds requests to a dead member
	// for 10 s. Zero: 1.
	ConnectAttempts int
	// Logger receives this transport's logs. Proto.Actor's remote logs to
	// the actor system's logger. Zero: warnings and errors to standard error.
	Logger *slog.Logger
}

// remoteSettings is a validated RemoteConfig with its defaults applied.
type remoteSettings struct {
	host           string // to listen on
	port           int
	advertise      string // "" for the bound address
	tls            *tls.Config
	requestTimeout time.Duration
	drainTimeout   time.Duration
	attempts       int
	logger         *slog.Logger
}

func invalidRemote(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRemoteConfig}, args...)...)
}

func (c RemoteConfig) settle() (s remoteSettings, err error) {
	bind := c.Bind
	if bind == "" {
		bind = DefaultRemoteBind
	}
	if s.host, s.port, err = hostPort("Bind", bind); err != nil {
		return s, err
	}
	if c.Advertise != "" {
		host, port, err := hostPort("Advertise", c.Advertise)
		if err != nil {
			return s, err
		}
		if host == "" || unspecified(host) {
			return s, invalidRemote("Advertise %q must name a host peers can dial", c.Advertise)
		}
		if port == 0 {
			if s.port == 0 {
				return s, invalidRemote("Advertise %q takes Bind's port, but Bind %q picks a free one: give either a port", c.Advertise, bind)
			}
			port = s.port
		}
		s.advertise = net.JoinHostPort(host, strconv.Itoa(port))
	} else if s.host == "" || unspecified(s.host) {
		return s, invalidRemote("Bind %q listens on every interface, which peers cannot dial: set Advertise", bind)
	}
	if c.TLS != nil {
		if len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil {
			return s, invalidRemote("TLS has no certificate for this node")
		}
		if c.TLS.ClientCAs == nil && c.TLS.RootCAs == nil {
			return s, invalidRemote("TLS has neither ClientCAs nor RootCAs: peers could not be verified")
		}
		s.tls = c.TLS.Clone()
	}
	s.requestTimeout, s.drainTimeout, s.attempts = c.RequestTimeout, c.DrainTimeout, c.ConnectAttempts
	if s.requestTimeout < 0 || s.drainTimeout < 0 || s.attempts < 0 {
		return s, invalidRemote("negative RequestTimeout, DrainTimeout or ConnectAttempts")
	}
	if s.requestTimeout == 0 {
		s.requestTimeout = 30 * time.Second
	}
	if s.drainTimeout == 0 {
		s.drainTimeout = 5 * time.Second
	}
	if s.attempts == 0 {
		s.attempts = 1
	}
	s.logger = c.Logger
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return s, nil
}

// hostPort splits "host:port" where the host may be empty or a name.
func hostPort(field, hostport string) (string, int, error) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, invalidRemote("%s %q is not host:port: %v", field, hostport, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", 0, invalidRemote("%s %q has a bad port", field, hostport)
	}
	return host, int(port), nil
}

func unspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// maxBatchBytes bounds a gRPC message the server accepts. Proto.Actor sends
// up to 1000 messages to a peer in one gRPC message and does not split by
// size, so gRPC's default of 4 MiB would let a burst of large intents break
// the connection; 16 envelopes of the largest size fit.
const maxBatchBytes = 16 * intent.MaxEnvelopeBytes

// serverOptions are the gRPC server options of the transport.
func (s remoteSettings) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxBatchBytes),
		grpc.ChainUnaryInterceptor(recoverUnary),
		grpc.ChainStreamInterceptor(recoverStream),
	}
	if s.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(serverTLS(s.tls))))
	}
	return opts
}

// dialOptions are the gRPC dial options of the transport.
func (s remoteSettings) dialOptions() []grpc.DialOption {
	if s.tls != nil {
		return []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(clientTLS(s.tls)))}
	}
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}

func serverTLS(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	if c.ClientCAs == nil {
		c.ClientCAs = c.RootCAs
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func clientTLS(c *tls.Config) *tls.Config {
	c = c.Clone()
	if c.RootCAs == nil {
		c.RootCAs = c.ClientCAs
	}
	if c.GetClientCertificate == nil && len(c.Certificates) == 0 && c.GetCertificate != nil {
		// A node whose certificate comes from GetCertificate presents the
		// same one as a client.
		get := c.GetCertificate
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return get(&tls.ClientHelloInfo{})
		}
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// MutualTLS returns a RemoteConfig.TLS for a node holding cert that trusts
// the peers whose certificates chain to a certificate in cas, both ways.
func MutualTLS(cert tls.Certificate, cas *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      cas,
		ClientCAs:    cas,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
}

// LoadMutualTLS reads a node's certificate and key and the cluster's CA
// certificates (PEM files) into a RemoteConfig.TLS; see MutualTLS.
func LoadMutualTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cluster: CA certificates: %w", err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("cluster: CA certificates: no PEM certificate in %s", caFile)
	}
	return MutualTLS(cert, cas), nil
}
