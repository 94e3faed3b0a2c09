#!/bin/sh
# A Kairos container's start: put this container's certificate where
# KAIROS_TLS_* point, own the data folder, then run kairos as the `kairos` user.
#
# Certificates come from /certs (a volume `kairos certs` filled; see
# deploy/compose.yaml): a server takes node-$KAIROS_NODE_ID.pem; a worker
# issues its own from /certs/ca.key, named after this container (its hostname,
# which the other containers resolve) so that `--scale worker=N` works; the CA
# key is read only here, as root, and the kairos process never runs as root.
set -eu
tls=/run/kairos/tls
role="${1:-}"
mkdir -p "$tls" /var/lib/kairos/data
if [ -f /certs/ca.pem ]; then
    cp /certs/ca.pem "$tls/ca.pem"
    case "$role" in
    server)
        : "${KAIROS_NODE_ID:?set KAIROS_NODE_ID to this server's node id}"
        cp "/certs/node-$KAIROS_NODE_ID.pem" "$tls/cert.pem"
        cp "/certs/node-$KAIROS_NODE_ID.key" "$tls/key.pem"
        http="${KAIROS_HTTP_ADDR:?set KAIROS_HTTP_ADDR}"
        echo "https://127.0.0.1:${http##*:}/health" >/run/kairos/health-url
        echo server >/run/kairos/health-of
        ;;
    worker)
        id="${KAIROS_WORKER_ID:-$(hostname)}"
        addr="$(hostname)"
        if [ ! -f "$tls/cert.pem" ]; then
            issuer="$(mktemp -d)"
            cp /certs/ca.pem /certs/ca.key "$issuer/"
            kairos certs worker --dir "$issuer" --id "$id" --host "$addr" --host 127.0.0.1 >/dev/null
            mv "$issuer/worker-$id.pem" "$tls/cert.pem"
            mv "$issuer/worker-$id.key" "$tls/key.pem"
            rm -rf "$issuer"
        fi
        set -- "$@" --worker-id "$id" --http-addr "0.0.0.0:8793" --advertise-http "$addr:8793"
        # The worker's own record of its attempts (the deployment test reads it).
        if [ -n "${KAIROS_ATTEMPT_LOG_DIR:-}" ]; then
            set -- "$@" --attempt-log "$KAIROS_ATTEMPT_LOG_DIR/$id.jsonl"
        fi
        echo "https://127.0.0.1:8793/health" >/run/kairos/health-url
        echo worker >/run/kairos/health-of
        ;;
    esac
    chown -R kairos:kairos "$tls"
    chmod 0600 "$tls/key.pem" 2>/dev/null || true
fi
chown kairos:kairos /var/lib/kairos /var/lib/kairos/data
exec setpriv --reuid=kairos --regid=kairos --init-groups --inh-caps=-all -- /usr/local/bin/kairos "$@"
