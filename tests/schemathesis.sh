#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against the OpenAPI document of a `kairos dev`
# server started on the examples: no server errors, and every response matches
# its documented schema. Not yet part of .ci/run (see docs/api.md, "Conformance").
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
command -v schemathesis >/dev/null 2>&1 || python3 -m pip install -q schemathesis
cargo build --quiet --locked -p kairos
work=$(mktemp -d)
( cd "$work" && "$CARGO_TARGET_DIR/debug/kairos" dev --dags "$OLDPWD/examples" >dev.log 2>&1 ) &
dev=$!
trap 'kill $dev 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do
    curl -sf http://127.0.0.1:8080/api/v1/openapi.json >/dev/null && break
    sleep 0.2
done
schemathesis run http://127.0.0.1:8080/api/v1/openapi.json \
    --checks not_a_server_error,response_schema_conformance --max-examples 30
