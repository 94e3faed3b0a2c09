#!/usr/bin/env bash
# Runs README.md's "A three-node cluster" walkthrough as written (mutual TLS:
# `kairos certs`, three servers, two workers, the CLI and curl over HTTPS), then
# waits for the backfill it starts to succeed, so the README cannot drift from
# what works. Everything lives under a fresh /tmp/kairos (the README's paths);
# every process it started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
K="$CARGO_TARGET_DIR/debug/kairos"
[ -x "$K" ] || cargo build --quiet --locked -p kairos

if [ -e /tmp/kairos ]; then
    echo "walkthrough: /tmp/kairos exists; remove it first (the README's paths are used as written)" >&2
    exit 1
fi
mkdir -p /tmp/kairos
work=$(mktemp -d)
cleanup() {
    # Only the processes this script started (their command lines name /tmp/kairos).
    pkill -f -- "--data-dir /tmp/kairos/" 2>/dev/null || true
    sleep 1
    pkill -9 -f -- "--data-dir /tmp/kairos/" 2>/dev/null || true
    rm -rf "$work" /tmp/kairos
}
trap cleanup EXIT

# The shell blocks of the section, in order, without the build line (K is set above).
awk '
    /^### A three-node cluster/ { on = 1; next }
    on && /^## / { exit }
    on && /^```sh/ { block = 1; next }
    on && block && /^```/ { block = 0; next }
    on && block && !/^cargo build/ && !/^K=/ { print }
' README.md > "$work/walkthrough.sh"
echo "== the README's commands:"
cat "$work/walkthrough.sh"
export K
# `cluster status` may run before a leader is elected: the script retries it.
sed -i 's/^\$K cluster status$/for i in $(seq 60); do $K cluster status \&\& break; sleep 0.5; done/' "$work/walkthrough.sh"
sed -i 's/^curl -s /curl -sf --retry 20 --retry-all-errors --retry-delay 1 /' "$work/walkthrough.sh"
echo "== running them"
( cd "$PWD" && bash -euo pipefail "$work/walkthrough.sh" )

# The environment the README exported, for the checks below.
C=/tmp/kairos/certs
export KAIROS_SERVER=127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083
export KAIROS_TLS_CERT=$C/client-admin.pem KAIROS_TLS_KEY=$C/client-admin.key KAIROS_TLS_CA=$C/ca.pem

echo "== waiting for the backfill's runs to succeed"
deadline=$((SECONDS + 180))
while :; do
    runs=$("$K" runs list bash_chain -o json 2>/dev/null || echo '[]')
    total=$(echo "$runs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    ok=$(echo "$runs" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r.get("state") == "success"))')
    echo "   $ok of $total runs succeeded"
    if [ "$total" -ge 6 ] && [ "$ok" = "$total" ]; then break; fi
    if [ $SECONDS -gt $deadline ]; then
        echo "walkthrough: the backfill did not finish" >&2
        tail -n 30 /tmp/kairos/*.log >&2
        exit 1
    fi
    sleep 2
done
echo "== the walkthrough ran with mutual TLS end to end"
