#!/usr/bin/env bash
# Fails when the committed generated protobuf code differs from what
# scripts/genproto.sh produces from proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/genproto.sh
if ! git diff --exit-code --stat -- '*.pb.go' || [ -n "$(git ls-files --others --exclude-standard -- '*.pb.go')" ]; then
  echo "check-proto: generated code is stale; run 'make proto' and commit the result" >&2
  exit 1
fi
echo "check-proto: generated code is fresh"
