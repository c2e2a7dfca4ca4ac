# PacketFlow node image: the statically linked binary and nothing else.
#
# No base image is pulled. Build the binary on the host first (make image does
# both steps):
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/packetflow ./cmd/packetflow
#   mkdir -p bin/data
#   docker build -t packetflow:dev .
FROM scratch

COPY bin/packetflow /packetflow
# The state directory (--data-dir /data), owned by the user the node runs
# as; a volume mounted there starts with this ownership. bin/data is an
# empty directory (make image creates it).
COPY --chown=65532:65532 bin/data /data

# HTTP API, actor remote (Proto.Actor), gossip (memberlist, TCP and UDP),
# routes of the replicated state store (NATS JetStream).
EXPOSE 8080 8090 7946 7946/udp 6222

# scratch has no /etc/passwd: a numeric uid/gid is enough ("nonroot").
USER 65532:65532

# The binary is PID 1 and stops cleanly on an interrupt.
STOPSIGNAL SIGINT

# Healthy once the member has joined a cluster (GET /healthz answers 200);
# a container started with another --http port needs its own healthcheck.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/packetflow", "healthcheck", "--http", "http://127.0.0.1:8080"]

ENTRYPOINT ["/packetflow"]
# A single-member cluster with its HTTP API reachable from outside the
# container; docker-compose.yml gives each member its own flags.
CMD ["node", "--http", "0.0.0.0:8080"]
