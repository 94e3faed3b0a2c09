#!/usr/bin/env bash
# Drives the web UI in a real browser: Debian's chromium, headless, through
# selenium (from PyPI, in its own virtualenv) and the system chromedriver.
# A `kairos dev` on a copy of examples/ for the pages, the trigger form, the
# grid turning green without a reload, a clear, a log and two versions; then
# a `kairos server` with an API token file for the login. Screenshots go to
# $KAIROS_UI_SCREENSHOTS (default: $CARGO_TARGET_DIR/ui-screenshots), kept as
# CI artefacts, never committed. .ci/run calls it. KAIROS_BIN names a built
# `kairos` to use instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
SELENIUM_VERSION="4.27.1"
venv="${KAIROS_UI_VENV:-$HOME/.cache/kairos-ui-venv}"
for tool in chromium chromedriver; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: apt-get install chromium chromium-driver" >&2; exit 1; }
done
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('selenium') != '$SELENIUM_VERSION')" 2>/dev/null; then
    echo "== installing selenium $SELENIUM_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q "selenium==$SELENIUM_VERSION"
fi
kairos="${KAIROS_BIN:-}"
if [ -z "$kairos" ]; then
    cargo build --quiet --locked -p kairos
    kairos="$CARGO_TARGET_DIR/debug/kairos"
fi
shots="${KAIROS_UI_SCREENSHOTS:-$CARGO_TARGET_DIR/ui-screenshots}"
mkdir -p "$shots"
# free_port, $work, pids+=(...), cleanup on exit, wait_up URL LOG
source "$root/tests/lib/processes.sh"

cp -r "$root/examples" "$work/dags"
dev_http="127.0.0.1:$(free_port)"
mkdir "$work/dev"
( cd "$work/dev" && exec "$kairos" dev --dags "$work/dags" \
    --http-addr "$dev_http" --grpc-addr "127.0.0.1:$(free_port)" >dev.log 2>&1 ) &
pids+=($!)
wait_up "http://$dev_http/api/v1/health" "$work/dev/dev.log"

token="ui-operator-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
echo "operator $token" >"$work/tokens"
server_http="127.0.0.1:$(free_port)"
server_grpc="127.0.0.1:$(free_port)"
"$kairos" server --insecure --node-id 1 --data-dir "$work/server" \
    --grpc-addr "$server_grpc" --http-addr "$server_http" --peers "1=$server_grpc" \
    --api-token-file "$work/tokens" --config "$work/no-kairos.toml" 2>"$work/server.log" &
pids+=($!)
wait_up "http://$server_http/api/v1/health" "$work/server.log"

if ! "$venv/bin/python" "$root/tests/ui/browser_test.py" \
    "http://$dev_http" "$work/dags" "http://$server_http" "$token" "$shots"; then
    echo "== kairos dev's log (last 60 lines)" >&2
    tail -n 60 "$work/dev/dev.log" >&2
    exit 1
fi
echo "== screenshots in $shots"
