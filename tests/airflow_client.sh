#!/usr/bin/env bash
# Drives Kairos with Airflow's own Python client (apache-airflow-client 2.10
# from PyPI, in its own virtualenv): a `kairos dev` on the DAG files of
# tests/airflow_client/dags/, every supported REST API v1 call through the
# client with its answers asserted (tests/airflow_client/check.py); then a
# `kairos server` with an API token file, for basic and bearer authentication.
# .ci/run calls it. KAIROS_BIN names a built `kairos` to use instead of
# building one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
CLIENT_VERSION="2.10.*"
venv="${KAIROS_AIRFLOW_CLIENT_VENV:-$HOME/.cache/kairos-airflow-client-venv}"
if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(not m.version("apache-airflow-client").startswith("2.10."))' 2>/dev/null; then
    echo "== installing apache-airflow-client $CLIENT_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q "apache-airflow-client==$CLIENT_VERSION"
fi
kairos="${KAIROS_BIN:-}"
if [ -z "$kairos" ]; then
    cargo build --quiet --locked -p kairos
    kairos="$CARGO_TARGET_DIR/debug/kairos"
fi
# free_port, $work, pids+=(...), cleanup on exit, wait_up URL LOG
source "$root/tests/lib/processes.sh"

dev_http="127.0.0.1:$(free_port)"
mkdir "$work/dev"
( cd "$work/dev" && exec "$kairos" dev --dags "$root/tests/airflow_client/dags" \
    --http-addr "$dev_http" --grpc-addr "127.0.0.1:$(free_port)" >dev.log 2>&1 ) &
pids+=($!)
wait_up "http://$dev_http/api/v1/health" "$work/dev/dev.log"

# A one-node server with API tokens, for the authentication checks.
token="viewer-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
echo "viewer $token" >"$work/tokens"
server_http="127.0.0.1:$(free_port)"
server_grpc="127.0.0.1:$(free_port)"
"$kairos" server --insecure --node-id 1 --data-dir "$work/server" \
    --grpc-addr "$server_grpc" --http-addr "$server_http" --peers "1=$server_grpc" \
    --api-token-file "$work/tokens" --config "$work/no-kairos.toml" 2>"$work/server.log" &
pids+=($!)
wait_up "http://$server_http/api/v1/health" "$work/server.log"

if ! "$venv/bin/python" "$root/tests/airflow_client/check.py" \
    "http://$dev_http/api/v1" "http://$server_http/api/v1" "$token"; then
    echo "== kairos dev's log (last 60 lines)" >&2
    tail -n 60 "$work/dev/dev.log" >&2
    exit 1
fi
