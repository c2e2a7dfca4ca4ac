// Package replicated is the store.Store of a PacketFlow cluster: reactor
// state kept in NATS JetStream, embedded in every node and clustered with
// the other members' servers over its own route port, and replicated by
// JetStream's Raft to a quorum of them before a Commit returns. A reactor
// that fails over to a survivor loads the state its dead owner committed;
// nothing runs besides the nodes themselves.
//
// Every reactor instance is one subject of one stream (PACKETFLOW_STATE)
// that keeps the last message per subject. A Commit is a publish that
// JetStream accepts only when the subject's last sequence is the one the
// committer read (Nats-Expected-Last-Subject-Sequence), so that of two
// members that both believe they own an instance (membership flickering,
// a partition healing) only one's write lands; the other's fails with
// store.ErrConflict. Loads are answered by the stream's leader, never by a
// lagging replica. JetStream's leader batches the proposals of concurrent
// publishers into shared Raft appends: many writers share one replicated
// (and, with SyncAlways, fsynced) write.
package replicated

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/packetflow/packetflow/store"
)

// StreamName is the JetStream stream that holds reactor state.
const StreamName = "PACKETFLOW_STATE"

// subjectPrefix starts every state subject: pf.state.<kind>.<identity>,
// kind and identity base64url-encoded (so any bytes fit a subject token).
const subjectPrefix = "pf.state."

// Config configures one member's replicated store.
type Config struct {
	// Name is this member's server name, unique in the cluster and the
	// same across restarts (JetStream's Raft knows peers by it). Required.
	Name string
	// Dir holds JetStream's files (streams and Raft logs). Required. A
	// restarted member given the same Dir rejoins with its data and
	// catches up from the others.
	Dir string
	// Listen is the route address host:port the other members' servers
	// connect to (port 0: any free port, see RouteAddr). Empty: a single
	// server, not clustered, and Peers must be empty.
	Listen string
	// Advertise is the host:port other members use to reach Listen, when
	// it differs (NAT, containers). Empty: Listen's.
	Advertise string
	// Peers are the route addresses (host:port) of the other members'
	// servers; listing this member's own address too is fine (it is
	// skipped), so every member may be given the same list. Members are
	// dialled until they answer; each also learns the others from those it
	// reaches.
	Peers []string
	// ClusterName names the route cluster; servers of another cluster are
	// refused. Default "packetflow".
	ClusterName string
	// Replicas is how many members keep each record (1 to 5). Default: 3,
	// or fewer when the cluster is given fewer servers (1 + len(Peers)
	// without this member's own address). A Commit returns when a majority
	// of them has it.
	Replicas int
	// SyncAlways fsyncs every write before it is acknowledged on each
	// replica. Without it a write is acknowledged once a majority of the
	// replicas holds it in memory and the files are fsynced every
	// SyncInterval: the state survives the loss of any minority of
	// members, not the simultaneous power loss of a majority.
	SyncAlways bool
	// SyncInterval is the fsync period without SyncAlways. Default: NATS's
	// (two minutes).
	SyncInterval time.Duration
	// TLS, when set, is the mutual TLS of the routes between members (the
	// same configuration as the actor remote's: certificates signed by the
	// cluster's CA, client certificates required). Without it routes are
	// plaintext.
	TLS *tls.Config
	// ReadyTimeout bounds how long a Load or Commit waits, within its
	// context, for the stream to exist before it fails with
	// store.ErrUnavailable. It matters while the cluster forms.
	// Default 30 s.
	ReadyTimeout time.Duration
	// Logger receives JetStream's warnings and errors (its notices at
	// Debug). Default: slog.Default().
	Logger *slog.Logger
}

// maxPayload is the largest message the embedded server takes: a record at
// store's limits with its envelope.
const maxPayload = store.MaxDataLen + 2*store.MaxKindLen + 2*store.MaxIdentityLen + store.MaxTypeLen + 64<<10

// Store is one member's replicated store. Safe for concurrent use.
type Store struct {
	cfg    Config
	server *server.Server
	conn   *nats.Conn
	js     jetstream.JetStream
	logger *slog.Logger

	ready  chan struct{} // closed once the stream exists
	stream jetstream.Stream
	life   context.Context // cancelled by Close
	stop   context.CancelFunc
	bg     sync.WaitGroup

	mu       sync.RWMutex // held shared by calls in progress, exclusively by Close
	closed   bool
	calls    sync.WaitGroup
	revMu    sync.Mutex
	revision map[store.Key]committed // the stream sequence of versions this store last saw
}

// committed is what this store last saw of a key: its version and the
// stream sequence of the message holding it.
type committed struct{ version, sequence uint64 }

// maxRevisions bounds the revision cache; beyond it the cache starts over
// (a Commit whose key is not cached reads the key first).
const maxRevisions = 1 << 20

// Open starts this member's JetStream server, connects to it in process and
// returns at once; the stream is created (or found) in the background as
// soon as the cluster has a quorum, and Loads and Commits wait for it up to
// ReadyTimeout. A Dir that JetStream cannot use, or a Listen address that
// is taken, is an error.
func Open(cfg Config) (*Store, error) {
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, fmt.Errorf("replicated store: %w", err)
	}
	token := hex.EncodeToString(secret[:])
	opts, err := cfg.serverOptions(token)
	if err != nil {
		return nil, err
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(slog.String("component", "replicated-store"))
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("replicated store: %w", err)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("replicated store: %w", err)
	}
	nl := &natsLogger{logger: logger}
	ns.SetLoggerV2(nl, false, false, false)
	ns.Start()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ready := ns.ReadyForConnections(50 * time.Millisecond)
		err := nl.fatal()
		if err == nil && !ready && time.Now().After(deadline) {
			err = errors.New("the embedded JetStream server did not start within 10 s")
		}
		if err != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, fmt.Errorf("replicated store: %w", err)
		}
		if ready {
			break
		}
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Token(token), nats.Name("packetflow-store-"+cfg.Name),
		nats.MaxReconnects(-1), nats.NoCallbacksAfterClientClose())
	if err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("replicated store: connecting to the embedded server: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("replicated store: %w", err)
	}
	s := &Store{
		cfg: cfg, server: ns, conn: nc, js: js, logger: logger,
		ready: make(chan struct{}), revision: make(map[store.Key]committed),
	}
	s.life, s.stop = context.WithCancel(context.Background())
	s.bg.Go(s.ensureStream)
	return s, nil
}

// serverOptions checks cfg and turns it into the embedded server's options.
func (cfg *Config) serverOptions(token string) (*server.Options, error) {
	bad := func(format string, args ...any) (*server.Options, error) {
		return nil, fmt.Errorf("replicated store: "+format, args...)
	}
	if cfg.Name == "" {
		return bad("Config.Name is empty")
	}
	if cfg.Dir == "" {
		return bad("Config.Dir is empty")
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "packetflow"
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		// The node is the only client, in process. The client port still
		// listens (on loopback, any free port, behind a random token):
		// the server's routing waits for its listener.
		Host:          "127.0.0.1",
		Port:          server.RANDOM_PORT,
		Authorization: token,
		JetStream:     true,
		StoreDir:      cfg.Dir,
		NoSigs:        true,
		MaxPayload:    maxPayload,
		SyncAlways:    cfg.SyncAlways,
		SyncInterval:  cfg.SyncInterval,
	}
	if cfg.Listen == "" {
		if len(cfg.Peers) > 0 {
			return bad("Config.Peers needs Config.Listen")
		}
		if cfg.Replicas > 1 {
			return bad("Config.Replicas is %d but the store is not clustered (no Listen)", cfg.Replicas)
		}
		cfg.Replicas = 1
		return opts, nil
	}
	host, port, err := splitHostPort("Listen", cfg.Listen)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Cluster = server.ClusterOpts{
		Name:           cfg.ClusterName,
		Host:           host,
		Port:           port,
		Advertise:      cfg.Advertise,
		ConnectRetries: -1, // keep dialling peers that are not up yet
		TLSConfig:      cfg.TLS,
		TLSTimeout:     5,
	}
	if cfg.Advertise != "" {
		if _, _, err := splitHostPort("Advertise", cfg.Advertise); err != nil {
			return nil, err
		}
	}
	scheme := "nats"
	if cfg.TLS != nil {
		scheme = "tls"
	}
	others := 0
	for _, p := range cfg.Peers {
		if _, _, err := splitHostPort("Peers", p); err != nil {
			return nil, err
		}
		opts.Routes = append(opts.Routes, &url.URL{Scheme: scheme, Host: p})
		if p != cfg.Listen && p != cfg.Advertise {
			others++
		}
	}
	switch {
	case cfg.Replicas == 0:
		cfg.Replicas = min(3, 1+others)
	case cfg.Replicas < 0 || cfg.Replicas > 5:
		return bad("Config.Replicas is %d; want 1 to 5", cfg.Replicas)
	}
	return opts, nil
}

func splitHostPort(field, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("replicated store: Config.%s %q is not host:port: %w", field, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > math.MaxUint16 {
		return "", 0, fmt.Errorf("replicated store: Config.%s %q: bad port", field, addr)
	}
	return host, port, nil
}

// RouteAddr is the address the routes listen on (useful with port 0), or ""
// when the store is not clustered.
func (s *Store) RouteAddr() string {
	if s.cfg.Listen == "" {
		return ""
	}
	if a := s.server.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Ready is closed once the stream exists and the store serves calls.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// streamConfig is the state stream: the last record per instance, on
// Replicas members, answered by its leader only.
func (s *Store) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              StreamName,
		Description:       "PacketFlow reactor state: the last committed record of each instance",
		Subjects:          []string{subjectPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Replicas:          s.cfg.Replicas,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		MaxMsgSize:        maxPayload,
		AllowDirect:       false, // reads go to the leader, never to a lagging replica
		DenyDelete:        true,
		DenyPurge:         true,
	}
}

// ensureStream creates the stream (or takes the existing one, updating its
// replica count) once the cluster can, retrying until it can or Close.
func (s *Store) ensureStream() {
	cfg := s.streamConfig()
	delay := 100 * time.Millisecond
	lastLog := time.Now() // the first warning after 10 s
	for {
		// JetStream drops API requests while it has no meta leader, so
		// an attempt that gets no answer soon is repeated.
		ctx, cancel := context.WithTimeout(s.life, time.Second)
		st, err := s.js.CreateOrUpdateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || isAPIError(err, jetstream.JSErrCodeStreamNameInUse) {
			// Created concurrently by another member with another
			// configuration: take it as it is.
			st, err = s.js.Stream(ctx, StreamName)
		}
		cancel()
		if err == nil {
			s.stream = st
			close(s.ready)
			s.logger.Info("replicated store ready", slog.String("stream", StreamName),
				slog.Int("replicas", st.CachedInfo().Config.Replicas), slog.String("routes", s.RouteAddr()))
			return
		}
		if time.Since(lastLog) >= 10*time.Second {
			s.logger.Warn("replicated store not ready yet: waiting for a quorum of members", slog.Any("err", err),
				slog.Any("peers", s.cfg.Peers))
			lastLog = time.Now()
		}
		select {
		case <-s.life.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

func isAPIError(err error, codes ...jetstream.ErrorCode) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode == c {
			return true
		}
	}
	return false
}

// subject is key's subject.
func subject(key store.Key) string {
	enc := base64.RawURLEncoding
	return subjectPrefix + enc.EncodeToString([]byte(key.Kind)) + "." + enc.EncodeToString([]byte(key.Identity))
}

// begin registers a call, waiting for the stream; end must follow.
func (s *Store) begin(ctx context.Context, op string, key store.Key) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("%w: %s %s", store.ErrClosed, op, key)
	}
	s.calls.Add(1)
	s.mu.RUnlock()
	select {
	case <-s.ready:
		return nil
	default:
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	select {
	case <-s.ready:
		return nil
	case <-s.life.Done():
		s.calls.Done()
		return fmt.Errorf("%w: %s %s", store.ErrClosed, op, key)
	case <-wait.Done():
		s.calls.Done()
		return fmt.Errorf("%w: %s %s: the replicated state stream is not available yet (no quorum of members): %w",
			store.ErrUnavailable, op, key, wait.Err())
	}
}

// Load returns key's committed record, read from the stream's leader.
func (s *Store) Load(ctx context.Context, key store.Key) (store.Record, error) {
	if err := store.CheckLoad(ctx, key); err != nil {
		return store.Record{}, err
	}
	if err := s.begin(ctx, "load", key); err != nil {
		return store.Record{}, err
	}
	defer s.calls.Done()
	rec, _, err := s.load(ctx, key)
	return rec, err
}

// load reads key's last record and its stream sequence (0 when none).
func (s *Store) load(ctx context.Context, key store.Key) (store.Record, uint64, error) {
	var msg *jetstream.RawStreamMsg
	err := s.attempt(ctx, func(actx context.Context) error {
		var err error
		msg, err = s.stream.GetLastMsgForSubject(actx, subject(key))
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return store.Record{}, 0, nil
	}
	if err != nil {
		return store.Record{}, 0, s.callError("load", key, err, false)
	}
	rec, err := store.UnmarshalRecord(key, msg.Data)
	if err != nil {
		return store.Record{}, 0, fmt.Errorf("%w: load %s: stream %s sequence %d (in %s): %w",
			store.ErrCorrupt, key, StreamName, msg.Sequence, s.cfg.Dir, err)
	}
	s.remember(key, committed{version: rec.Version, sequence: msg.Sequence})
	return rec, msg.Sequence, nil
}

// attemptTimeout bounds one JetStream request. JetStream drops requests
// while a stream has no leader (an election after its leader's member
// died takes seconds), so a request without an answer is repeated, within
// the caller's context, rather than waited on for all of it.
const attemptTimeout = 2 * time.Second

// attempt runs call until it succeeds, fails for a reason other than a
// missing answer, or ctx ends. A write repeated this way carries the same
// message id, so JetStream stores it at most once.
func (s *Store) attempt(ctx context.Context, call func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := call(actx)
		cancel()
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
			errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
		if err == nil || !unanswered || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-s.life.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Commit stores rec as version expected+1 of key once a majority of the
// replicas has it, if key's committed version is expected.
func (s *Store) Commit(ctx context.Context, key store.Key, expected uint64, rec store.Record) (uint64, error) {
	if err := store.CheckCommit(ctx, key, expected, rec); err != nil {
		return 0, err
	}
	if err := s.begin(ctx, "commit", key); err != nil {
		return 0, err
	}
	defer s.calls.Done()
	var seq uint64 // the sequence holding version expected; 0 when expected is 0
	if expected > 0 {
		s.revMu.Lock()
		c, ok := s.revision[key]
		s.revMu.Unlock()
		if ok && c.version == expected {
			seq = c.sequence
		} else {
			cur, curSeq, err := s.load(ctx, key)
			if err != nil {
				return 0, err
			}
			if cur.Version != expected {
				return 0, &store.ConflictError{Key: key, Expected: expected, Committed: cur.Version}
			}
			seq = curSeq
		}
	}
	value, err := store.MarshalRecord(key, expected+1, rec)
	if err != nil {
		return 0, fmt.Errorf("%w: commit %s: %w", store.ErrInvalid, key, err)
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	msgID := hex.EncodeToString(id[:])
	var ack *jetstream.PubAck
	attempts := 0
	publish := func(actx context.Context) error {
		attempts++
		var err error
		ack, err = s.js.Publish(actx, subject(key), value, jetstream.WithMsgID(msgID),
			jetstream.WithExpectStream(StreamName), jetstream.WithExpectLastSequencePerSubject(seq))
		return err
	}
	err = s.attempt(ctx, publish)
	// "Another write of this subject is in flight" is no verdict: it may
	// be our own earlier attempt (JetStream knows a message id only once it
	// is applied), another writer's that will fail, or our previous
	// commit, acknowledged a moment before the leader forgets it. Ask again
	// (with the same message id) until nothing is in flight: then an
	// applied attempt of ours answers as a duplicate (success), and a
	// refusal names the committed sequence (a real conflict).
	for stopping := false; err != nil && !stopping && isAPIError(err, jetstream.JSErrCodeStreamWrongLastSequenceConstant) && ctx.Err() == nil; {
		select {
		case <-ctx.Done():
		case <-s.life.Done():
			stopping = true // Close waits for this call: give up now
		case <-time.After(5 * time.Millisecond):
			err = s.attempt(ctx, publish)
		}
	}
	switch {
	case err == nil:
		s.remember(key, committed{version: expected + 1, sequence: ack.Sequence})
		return expected + 1, nil
	case isAPIError(err, jetstream.JSErrCodeStreamWrongLastSequence):
		// Refused with nothing in flight: no attempt of ours landed.
		return 0, s.conflict(ctx, key, expected)
	case isAPIError(err, jetstream.JSErrCodeStreamWrongLastSequenceConstant) && attempts == 1:
		// Still in flight when ctx ended, and not ours: not applied.
		return 0, s.conflict(ctx, key, expected)
	}
	s.forget(key)
	if attempts > 1 && !errors.Is(err, store.ErrClosed) {
		// An earlier attempt got no answer and may yet be applied.
		return 0, fmt.Errorf("%w: commit %s: no acknowledgement from the replicated store after %d attempts (the write may have been applied): %w",
			store.ErrFailed, key, attempts, err)
	}
	return 0, s.callError("commit", key, err, true)
}

// conflict is the error of a Commit that JetStream refused because key's
// last sequence is not the expected one. The winning write may still be
// in flight (the leader refuses a write while another to the same subject
// awaits its quorum), so the committed version is read until it moves,
// for a little while.
func (s *Store) conflict(ctx context.Context, key store.Key, expected uint64) error {
	s.forget(key)
	deadline := time.Now().Add(attemptTimeout)
	for {
		cur, _, err := s.load(ctx, key)
		switch {
		case err != nil:
			return fmt.Errorf("%w: commit %s: expected version %d is not the committed one (reading the committed one: %v)",
				store.ErrConflict, key, expected, err)
		case cur.Version != expected:
			return &store.ConflictError{Key: key, Expected: expected, Committed: cur.Version}
		case time.Now().After(deadline) || ctx.Err() != nil:
			return fmt.Errorf("%w: commit %s: another write of version %d is in flight", store.ErrConflict, key, expected+1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// callError classifies a failed JetStream call. A write that got no
// answer (timeout, cancelled, connection lost) may have been applied:
// store.ErrFailed. One that nobody received, or that JetStream refused,
// was not: store.ErrUnavailable.
func (s *Store) callError(op string, key store.Key, err error, write bool) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed) && s.isClosed():
		return fmt.Errorf("%w: %s %s", store.ErrClosed, op, key)
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse):
		return fmt.Errorf("%w: %s %s: no replica of the state stream answers: %w", store.ErrUnavailable, op, key, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed):
		if write {
			return fmt.Errorf("%w: %s %s: no acknowledgement from the replicated store (the write may have been applied): %w",
				store.ErrFailed, op, key, err)
		}
		return fmt.Errorf("%w: %s %s: no answer from the replicated store: %w", store.ErrUnavailable, op, key, err)
	}
	return fmt.Errorf("%w: %s %s: %w", store.ErrUnavailable, op, key, err)
}

func (s *Store) remember(key store.Key, c committed) {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	if old, ok := s.revision[key]; ok && old.sequence > c.sequence {
		return
	}
	if len(s.revision) >= maxRevisions {
		s.revision = make(map[store.Key]committed)
	}
	s.revision[key] = c
}

func (s *Store) forget(key store.Key) {
	s.revMu.Lock()
	delete(s.revision, key)
	s.revMu.Unlock()
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Close waits for the calls in progress, then stops this member's server
// (its routes close, and the other members carry on without it). Later
// calls return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%w: close", store.ErrClosed)
	}
	s.closed = true
	s.stop()
	s.mu.Unlock()
	s.calls.Wait()
	s.bg.Wait()
	s.conn.Close()
	s.server.Shutdown()
	s.server.WaitForShutdown()
	return nil
}

// natsLogger passes the embedded server's log to slog: notices at Debug
// (it is chatty), warnings and errors as such. A fatal error is kept so
// that Open can report it (the server does not exit the process).
type natsLogger struct {
	logger   *slog.Logger
	mu       sync.Mutex
	fatalErr error
}

func (l *natsLogger) fatal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalErr
}

func (l *natsLogger) Noticef(format string, v ...any) { l.logger.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.logger.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Error trying to connect to route") {
		// Peers that are not up yet; ensureStream warns when it matters.
		l.logger.Debug(msg)
		return
	}
	l.logger.Error(msg)
}
func (l *natsLogger) Debugf(format string, v ...any) {}
func (l *natsLogger) Tracef(format string, v ...any) {}
func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.logger.Error(msg)
	l.mu.Lock()
	if l.fatalErr == nil {
		l.fatalErr = errors.New(msg)
	}
	l.mu.Unlock()
}
