# Sourced by the test scripts that start kairos processes: a free port, a
# work folder and the processes started (`pids+=($!)`), all cleaned up on
# exit, and waiting for an HTTP address to answer.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
wait_up() { # URL LOG
    for _ in $(seq 1 150); do
        if python3 -c "import urllib.request; urllib.request.urlopen('$1', timeout=1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "nothing answered $1:" >&2
    cat "$2" >&2
    exit 1
}
