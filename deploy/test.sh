#!/usr/bin/env bash
# The deployment, tested on one machine: Docker from Debian's packages (its
# daemon started when none runs), a base image made with debootstrap (no image
# registry is needed), the Kairos image from deploy/Dockerfile, the compose
# cluster of deploy/compose.yaml (three servers, two workers, mutual TLS), the
# examples pushed from the host, and then, under a steady trickle of runs:
# the leader's container killed, a follower cut off its network and
# reconnected, a rolling restart (deploy/rolling-restart.sh), a server replaced
# by a fresh one with an empty volume, and a worker killed mid-task. It checks
# that every accepted run succeeds, no task instance ran two attempts at once,
# and every server ends with the same state digest, and prints the failover
# times it saw (deploy/test/scenario.py). Everything it made (containers,
# network, volumes, images, the daemon it started) is removed at the end.
#
# Environment: KAIROS_BIN (the `kairos` to put in the image and to run the CLI
# with; default: the debug build in $CARGO_TARGET_DIR), DEBIAN_MIRROR,
# KAIROS_KEEP=1 to leave the cluster up for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=bookworm
base_tag="debian:bookworm-slim"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    need+=(docker-compose)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
fi
if docker compose version >/dev/null 2>&1; then
    compose_cmd="docker compose"
else
    compose_cmd="docker-compose"
fi

# The systemd units read as systemd reads them (the binary they start is not
# installed here: that one complaint is expected).
if command -v systemd-analyze >/dev/null 2>&1; then
    for unit in deploy/systemd/*.service; do
        complaints=$(systemd-analyze verify "$unit" 2>&1 | grep -v "/usr/local/bin/kairos is not executable" || true)
        if [ -n "$complaints" ]; then
            echo "$unit: $complaints" >&2
            exit 1
        fi
    done
    echo "== systemd units verified"
fi

work=$(mktemp -d)
project="kairostest$$"
image="kairos-deploy-test:$$"
started_dockerd=""
made_base=""
cleanup() {
    status=$?
    if [ "${KAIROS_KEEP:-}" = 1 ]; then
        echo "== KAIROS_KEEP=1: left up (project $project, certs in $work/certs)"
        exit $status
    fi
    echo "== cleaning up"
    # The replacement server first: it holds the network compose removes.
    docker rm -f "${project}-server-4" >/dev/null 2>&1 || true
    KAIROS_ATTEMPTS="$work/attempts" $compose_cmd -p "$project" -f deploy/compose.yaml \
        -f deploy/test/compose.test.yaml down -v --remove-orphans >/dev/null 2>&1 || true
    for volume in $(docker volume ls -q --filter "name=^${project}"); do
        docker volume rm "$volume" >/dev/null 2>&1 || true
    done
    docker network rm "${project}_kairos" >/dev/null 2>&1 || true
    docker image rm "$image" >/dev/null 2>&1 || true
    [ -n "$made_base" ] && docker image rm "$base_tag" >/dev/null 2>&1 || true
    # The build's intermediate images (dangling once the tag is gone), but
    # none that were there before.
    for id in $(docker images -q -f dangling=true); do
        grep -qx "$id" "$work/dangling-before" 2>/dev/null || docker image rm "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$work" "$root/deploy/docker/prebuilt"
    if [ -n "$started_dockerd" ]; then
        $sudo_cmd kill "$started_dockerd" 2>/dev/null || true
    fi
    exit $status
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
    echo "== starting dockerd (log in $work/dockerd.log)"
    $sudo_cmd dockerd >"$work/dockerd.log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; exit 1; }
fi

# The base image the Dockerfile names, made here when this machine lacks it:
# a minimal Debian without docs, man pages or locales (as the -slim images).
if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    echo "== making $base_tag with debootstrap from $mirror"
    rootfs="$work/rootfs"
    $sudo_cmd debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    $sudo_cmd rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
    printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-exclude /usr/share/info/*\n' \
        | $sudo_cmd tee "$rootfs/etc/dpkg/dpkg.cfg.d/slim" >/dev/null
    $sudo_cmd tar -C "$rootfs" -c . | docker import - "$base_tag" >/dev/null
    $sudo_cmd rm -rf "$rootfs"
    made_base=1
fi

# The binary: built on this machine (same Debian release as the image). The
# debug build the other tests use, unless KAIROS_BIN names another (a release
# build makes a smaller image: see deploy/README.md).
kairos="${KAIROS_BIN:-}"
if [ -z "$kairos" ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kairos-target}"
    cargo build --quiet --locked -p kairos
    kairos="$CARGO_TARGET_DIR/debug/kairos"
fi
mkdir -p deploy/docker/prebuilt
cp "$kairos" deploy/docker/prebuilt/kairos
strip deploy/docker/prebuilt/kairos 2>/dev/null || true
docker images -q -f dangling=true >"$work/dangling-before"
echo "== building the image $image"
docker build -q -f deploy/Dockerfile -t "$image" \
    --build-arg RUST_IMAGE="$base_tag" --build-arg BASE_IMAGE="$base_tag" \
    --build-arg PREBUILT=deploy/docker/prebuilt . >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$image")
echo "   image size: $(( size / 1024 / 1024 )) MiB"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$work/certs" "$work/attempts"
chmod 0777 "$work/attempts"
export KAIROS_IMAGE="$image" KAIROS_CERTS="$work/certs" KAIROS_ATTEMPTS="$work/attempts"
export KAIROS_PORT_1=$(free_port) KAIROS_PORT_2=$(free_port) KAIROS_PORT_3=$(free_port)
export KAIROS_HOST_UID="$(id -u)"
python3 deploy/test/scenario.py \
    --compose "$compose_cmd" --project "$project" --image "$image" --work "$work" \
    --kairos "$kairos" --examples "$root/examples"
