#!/usr/bin/env bash
# Issue 8's benchmark in one command, from a fresh clone:
#   bench/run.sh [kairos-bench suite flags...]
# 1. installs what the build and Airflow's peer need (Debian packages, when
#    missing: protoc, libclang, python3-venv, PostgreSQL),
# 2. builds kairos and kairos-bench in release mode,
# 3. measures Apache Airflow on this machine (bench/peers/airflow/run.sh; set
#    KAIROS_BENCH_AIRFLOW=0 to skip it, and the table says "not measured"),
# 4. runs `kairos-bench suite`, which prints the table and writes the JSON to
#    bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${KAIROS_BENCH_AIRFLOW:-1}" != 0 ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >&2
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
echo "== building kairos and kairos-bench (release)" >&2
cargo build --release --locked -p kairos -p kairos-bench >&2

airflow_json=$(mktemp /tmp/kairos-bench-airflow.XXXXXX.json)
trap 'rm -f "$airflow_json"' EXIT
if [ "${KAIROS_BENCH_AIRFLOW:-1}" != 0 ]; then
    echo "== Apache Airflow beside it (bench/peers/airflow/run.sh, a few minutes)" >&2
    bench/peers/airflow/run.sh > "$airflow_json" || true
    [ -s "$airflow_json" ] || echo '{"measured": false, "why": "bench/peers/airflow/run.sh printed nothing"}' > "$airflow_json"
else
    echo '{"measured": false, "why": "skipped (KAIROS_BENCH_AIRFLOW=0)"}' > "$airflow_json"
fi

# Airflow's PostgreSQL leaves dirty pages behind; their writeback would slow
# Kairos's fdatasyncs during its first phase. Each system starts on a quiet disk.
sync
echo "== Kairos (kairos-bench suite)" >&2
"$CARGO_TARGET_DIR/release/kairos-bench" suite --airflow "$airflow_json" "$@"
