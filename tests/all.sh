#!/usr/bin/env bash
# Every test, as `make test` and .ci/run run them (README's "Run the tests"):
# the format check, the workspace's tests, the scripted tests against real
# processes, the three-node walkthrough, the chaos smoke and the deployment
# test (Docker, installed and started when missing). tests/setup.sh
# test installs what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."
# One shared target directory, so runs reuse earlier builds (a cold build is slow).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
export CARGO_TERM_COLOR=never

echo "== toolchain"
cargo --version
rustc --version

echo "== format"
cargo fmt --all -- --check

echo "== tests"
cargo test --workspace --locked
tests/schemathesis.sh
tests/airflow_client.sh
tests/ui_browser.sh

echo "== the README's three-node walkthrough, with mutual TLS (tests/walkthrough.sh)"
tests/walkthrough.sh

echo "== chaos smoke (kills, pauses, partitions under load; chaos/README.md)"
cargo build --quiet --locked -p kairos -p kairos-chaos
"$CARGO_TARGET_DIR/debug/kairos-chaos" --smoke --tls

echo "== the deployment: image, compose cluster, faults (deploy/test.sh, deploy/README.md)"
deploy/test.sh

echo "== the README's run command: validate the examples"
cargo run --quiet --locked -p kairos -- dags validate examples/
