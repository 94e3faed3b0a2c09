#!/usr/bin/env bash
# A rolling restart of the compose cluster's servers: one at a time, each
# restarted and then waited for until it answers /health, follows a leader and
# has applied what the leader had when it came back, before the next one goes.
# A new image is rolled out the same way (`docker-compose up -d --no-deps
# server-N` in place of `restart`). Usage:
#   deploy/rolling-restart.sh [compose flags...]   (e.g. -f deploy/compose.yaml -p kairos)
# COMPOSE names the compose command (default: `docker compose`, else `docker-compose`).
set -euo pipefail
if [ -n "${COMPOSE:-}" ]; then
    read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    compose=(docker-compose)
fi
compose+=("$@")
servers=$("${compose[@]}" config --services | grep '^server-' | sort)
# A node's /health, asked inside its container with the container's certificate.
health() { docker exec "$1" kairos health --of server https://127.0.0.1:8080/health 2>/dev/null; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
for service in $servers; do
    container=$("${compose[@]}" ps -q "$service")
    # What the cluster has applied now: the highest applied index any other server reports.
    target=0
    for other in $servers; do
        [ "$other" = "$service" ] && continue
        applied=$(health "$("${compose[@]}" ps -q "$other")" | field last_applied || true)
        [ -n "$applied" ] && [ "$applied" -gt "$target" ] && target=$applied
    done
    echo "== restarting $service (the cluster has applied $target)"
    started=$(date +%s)
    "${compose[@]}" restart "$service" >/dev/null
    container=$("${compose[@]}" ps -q "$service")
    while :; do
        answer=$(health "$container" || true)
        applied=$(printf '%s' "$answer" | field last_applied)
        leader=$(printf '%s' "$answer" | field leader_id)
        if [ -n "$applied" ] && [ "${leader:-0}" != 0 ] && [ "$applied" -ge "$target" ]; then
            echo "   $service is back: follows node $leader, applied $applied ($(( $(date +%s) - started )) s)"
            break
        fi
        if [ $(( $(date +%s) - started )) -gt 120 ]; then
            echo "$service did not rejoin within 120 s: $answer" >&2
            exit 1
        fi
        sleep 1
    done
done
echo "== every server restarted"
