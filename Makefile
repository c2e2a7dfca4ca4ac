# PacketFlow for Go. `make help` lists the targets.
GO ?= go

.PHONY: help build test proto proto-check bench fuzz vet demo

help:
	@echo "build        build every package and the packetflow binary into bin/"
	@echo "test         run the tests with the race detector (what CI runs)"
	@echo "vet          go vet"
	@echo "proto        regenerate the Go code of proto/*.proto (needs protoc)"
	@echo "proto-check  fail if the committed generated code is stale"
	@echo "bench        run the benchmarks README.md quotes and print the table"
	@echo "fuzz         run each fuzz target for FUZZTIME (default 30s)"
	@echo "demo         run the quick start"
	@echo "image        build bin/packetflow statically and the FROM-scratch image $(IMAGE)"
	@echo "compose-test three members in Docker: kill one, time until every counter answers again"

build:
	$(GO) build ./...
	CGO_ENABLED=0 $(GO) build -o bin/packetflow ./cmd/packetflow

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

proto:
	./scripts/genproto.sh

proto-check:
	./scripts/check-proto.sh

bench:
	./scripts/bench.sh

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run x -fuzz FuzzParse -fuzztime $(FUZZTIME) ./capability/
	$(GO) test -run x -fuzz FuzzUnmarshalEnvelope -fuzztime $(FUZZTIME) ./intent/

demo:
	$(GO) run ./cmd/packetflow demo

# The container image: a static binary built here, copied into a FROM-scratch
# image (nothing is pulled). docker-compose.yml runs three members of it.
.PHONY: image compose-test
IMAGE ?= packetflow:dev
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/packetflow ./cmd/packetflow
	mkdir -p bin/data
	docker build -t $(IMAGE) .

compose-test:
	./scripts/compose-failover.sh
