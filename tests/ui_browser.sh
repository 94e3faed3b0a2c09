#!/usr/bin/env bash
# Drives the web UI in a real browser: Debian's chromium, headless, through
# selenium (from PyPI, in its own virtualenv) and the system chromedriver.
# A `kairos dev` on a copy of examples/ for the pages, the trigger form, the
# grid turning green without a reload, a clear, a log and two versions; then
# a `kairos server` over mutual TLS with API tokens and two teams, reached
# with a team's client certificate, for the login and a team's view. Screenshots go to
# $KAIROS_UI_SCREENSHOTS (default: $CARGO_TARGET_DIR/ui-screenshots), kept as
# CI artefacts, never committed. .ci/run calls it. KAIROS_BIN names a built
# `kairos` to use instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
SELENIUM_VERSION="4.27.1"
venv="${KAIROS_UI_VENV:-$HOME/.cache/kairos-ui-venv}"
for tool in chromium chromedriver certutil pk12util openssl unshare; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "$tool is missing: apt-get install chromium chromium-driver libnss3-tools openssl util-linux" >&2; exit 1; }
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

# A server over mutual TLS with API tokens and two teams' DAGs. The browser
# holds a client certificate of team `sales` as viewer (in an NSS database in
# its own HOME) and logs in with the team's operator token: the certificate
# caps the token, so the pages show a sales viewer's view.
tok() { python3 -c 'import secrets; print(secrets.token_hex(8))'; }
admin_token="ui-admin-$(tok)"
sales_token="ui-sales-$(tok)"
printf 'admin %s\nsales:operator %s\n' "$admin_token" "$sales_token" >"$work/tokens"
certs="$work/certs"
"$kairos" certs init --dir "$certs" >/dev/null
"$kairos" certs server --dir "$certs" --node-id 1 --host 127.0.0.1 >/dev/null
"$kairos" certs client --dir "$certs" --name admin >/dev/null
"$kairos" certs client --dir "$certs" --name browser --team sales --role viewer >/dev/null
server_http="127.0.0.1:$(free_port)"
server_grpc="127.0.0.1:$(free_port)"
"$kairos" server --node-id 1 --data-dir "$work/server" \
    --grpc-addr "$server_grpc" --http-addr "$server_http" --peers "1=$server_grpc" \
    --api-token-file "$work/tokens" --config "$work/no-kairos.toml" \
    --tls-cert "$certs/node-1.pem" --tls-key "$certs/node-1.key" --tls-ca "$certs/ca.pem" \
    2>"$work/server.log" &
pids+=($!)
admin=(--server "https://$server_http" --token "$admin_token"
    --tls-cert "$certs/client-admin.pem" --tls-key "$certs/client-admin.key" --tls-ca "$certs/ca.pem")
for _ in $(seq 1 150); do
    "$kairos" dags list "${admin[@]}" >/dev/null 2>&1 && break
    sleep 0.2
done
mkdir -p "$work/teams/sales" "$work/teams/ops"
printf 'sales_report:\n  schedule: null\n  tasks:\n    build: {operator: bash, bash_command: "echo report"}\n' \
    >"$work/teams/sales/sales_report.yml"
printf 'ops_cleanup:\n  schedule: null\n  tasks:\n    sweep: {operator: bash, bash_command: "echo sweep"}\n' \
    >"$work/teams/ops/ops_cleanup.yml"
"$kairos" dags push "$work/teams/sales" --team sales --bundle sales "${admin[@]}" >/dev/null
"$kairos" dags push "$work/teams/ops" --team ops --bundle ops "${admin[@]}" >/dev/null
"$kairos" dags trigger sales_report --run-id ui_team_run "${admin[@]}" >/dev/null

# The browser's own HOME: an NSS database with the client certificate and the
# CA. Chromium sends a client certificate without asking only by policy, read
# from /etc/chromium/policies: the browser runs in a private mount namespace
# (of a user namespace, so no root is needed) where a copy of /etc/chromium
# with that policy is mounted over it; the machine's /etc is never changed.
browser_home="$work/browser-home"
mkdir -p "$browser_home/.pki/nssdb"
certutil -d "sql:$browser_home/.pki/nssdb" -N --empty-password
openssl pkcs12 -export -in "$certs/client-sales-browser.pem" -inkey "$certs/client-sales-browser.key" \
    -out "$work/browser.p12" -passout pass: -name kairos-browser
pk12util -d "sql:$browser_home/.pki/nssdb" -i "$work/browser.p12" -W '' >/dev/null
certutil -d "sql:$browser_home/.pki/nssdb" -A -n kairos-ca -t "C,," -i "$certs/ca.pem"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://%s\\",\\"filter\\":{}}"]}\n' \
    "$server_http" >"$work/policy.json"

export KAIROS_UI_POLICY="$work/policy.json"
if ! HOME="$browser_home" unshare --map-root-user --mount sh -c '
        mkdir -p "$0/etc-chromium" && cp -r /etc/chromium/. "$0/etc-chromium/" 2>/dev/null
        mkdir -p "$0/etc-chromium/policies/managed"
        cp "$KAIROS_UI_POLICY" "$0/etc-chromium/policies/managed/kairos-ui-test.json"
        mount --bind "$0/etc-chromium" /etc/chromium && exec "$@"' "$work" \
        "$venv/bin/python" "$root/tests/ui/browser_test.py" \
        "http://$dev_http" "$work/dags" "https://$server_http" "$sales_token" "$shots"; then
    echo "== kairos dev's log (last 60 lines)" >&2
    tail -n 60 "$work/dev/dev.log" >&2
    echo "== the TLS server's log (last 30 lines)" >&2
    tail -n 30 "$work/server.log" >&2
    exit 1
fi
echo "== screenshots in $shots"
