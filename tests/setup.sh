#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Kairos needs that this machine lacks
# (with sudo when not root), and nothing else. `make dev` asks for `build`
# (compile and run: a C toolchain, libclang for RocksDB's bindings, protoc for
# the gRPC code, python3 for workers' Python tasks); `make test` and .ci/run
# for `test` (also python3-venv for the PyPI test tools, and chromium, its
# driver and NSS's tools for the web UI's browser test).
set -euo pipefail
what="${1:-build}"
case "$what" in build|test) ;; *) echo "usage: $0 build|test" >&2; exit 2 ;; esac

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v make >/dev/null 2>&1 || need+=(make)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "$what" = test ]; then
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
    command -v pk12util >/dev/null 2>&1 || need+=(libnss3-tools)
    command -v openssl >/dev/null 2>&1 || need+=(openssl)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
fi
command -v cargo >/dev/null 2>&1 || {
    echo "no Rust toolchain: install one with rustup (https://rustup.rs), then run this again" >&2
    exit 1
}
