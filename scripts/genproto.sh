#!/usr/bin/env bash
# Regenerates the Go code for every .proto under proto/. The protoc-gen-go
# version is the one pinned in go.mod (a "tool" dependency), so the output is
# the same on every machine that has Debian's protoc.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "genproto: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
find proto -name '*.proto' -print0 | sort -z | xargs -0 protoc -I proto \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out=. --go_opt=module=github.com/packetflow/packetflow
