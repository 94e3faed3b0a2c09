"""The deployment test's steps, against the compose cluster deploy/test.sh
has built the image for: bring it up, push DAGs from the host, then fault
after fault under a steady trickle of triggered runs, and the checks.

Every call to the cluster from here goes to the servers' published ports over
mutual TLS with the admin client certificate `certs` made, as a user's CLI
would; Docker is driven through its CLI."""

import argparse
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

A = None  # the parsed arguments
FAILOVERS = []  # (what, seconds)


def log(*words):
    print("[%6.1f]" % (time.time() - START), *words, flush=True)


def run(*cmd, check=True, capture=True, env=None):
    done = subprocess.run(cmd, check=False, text=True, env=env,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (" ".join(cmd), done.returncode,
                                                      done.stdout, done.stderr))
    return (done.stdout or "").strip()


def compose(*args, **kw):
    return run(*A.compose.split(), "-p", A.project, "-f", "deploy/compose.yaml",
               "-f", "deploy/test/compose.test.yaml", *args, **kw)


def container(service):
    return compose("ps", "-q", service).splitlines()[0]


def until(what, check, within=120, every=0.5):
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # not yet
            last = e
        time.sleep(every)
    raise AssertionError("%s did not happen within %d s (last: %s)" % (what, within, last))


# ---- the API, over mutual TLS ------------------------------------------------

def tls():
    certs = os.path.join(A.work, "certs")
    context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    context.load_cert_chain(os.path.join(certs, "client-admin.pem"),
                            os.path.join(certs, "client-admin.key"))
    return context


PORTS = {}  # node id -> published HTTP port


def api(node, path, body=None, method=None, timeout=5):
    request = urllib.request.Request(
        "https://127.0.0.1:%d%s" % (PORTS[node], path),
        method=method or ("POST" if body is not None else "GET"),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout, context=CONTEXT) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def health(node):
    try:
        return api(node, "/health", timeout=2)
    except Exception:
        return None


def leader(among=None):
    """The leader the reachable nodes agree on, or None."""
    seen = set()
    for node in among or PORTS:
        h = health(node)
        if h and h.get("leader_id"):
            seen.add(h["leader_id"])
    return seen.pop() if len(seen) == 1 else None


def any_node(path, body=None, method=None):
    """Asks the nodes in turn (as the CLI does with several --server)."""
    last = None
    for node in list(PORTS):
        try:
            return api(node, path, body, method)
        except urllib.error.HTTPError as e:
            if e.code < 500:
                raise
            last = e
        except Exception as e:
            last = e
    raise RuntimeError("no node answered %s: %s" % (path, last))


def cli(*args):
    servers = ",".join("https://127.0.0.1:%d" % p for p in PORTS.values())
    certs = os.path.join(A.work, "certs")
    return run(A.kairos, *args, "--server", servers,
               "--tls-cert", os.path.join(certs, "client-admin.pem"),
               "--tls-key", os.path.join(certs, "client-admin.key"),
               "--tls-ca", os.path.join(certs, "ca.pem"))


# ---- the workload -------------------------------------------------------------

TRICKLE_DAG = """deploy_trickle:
  schedule: null
  is_paused_upon_creation: false
  default_args: {retries: 3, retry_delay: 2s}
  tasks:
    extract: {operator: bash, bash_command: 'echo rows=3'}
    transform: {operator: bash, bash_command: 'sleep 0.3; echo ok', dependencies: [extract]}
    load: {operator: bash, bash_command: 'echo loaded', dependencies: [transform]}
"""
LONG_DAG = """deploy_long:
  schedule: null
  is_paused_upon_creation: false
  default_args: {retries: 2, retry_delay: 1s}
  tasks:
    slow: {operator: bash, bash_command: 'echo start; sleep 20; echo done'}
"""


class Trickle(threading.Thread):
    """Triggers a run of deploy_trickle every second; a run counts as accepted
    once a node said so (or said it exists, when an answer was lost)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.accepted = []
        self.refused = 0
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            run_id = "trickle_%04d" % n
            try:
                any_node("/api/v1/dags/deploy_trickle/dagRuns", {"dag_run_id": run_id})
                self.accepted.append(run_id)
                n += 1
            except urllib.error.HTTPError as e:
                if e.code == 409:  # accepted before, its answer lost
                    self.accepted.append(run_id)
                    n += 1
                else:
                    self.refused += 1
            except Exception:
                self.refused += 1  # no node answered: tried again next second
            self.stop.wait(1.0)


def caught_up(node, within=120):
    """Waits until `node` follows a leader and has applied what the others have."""
    def check():
        target = max((health(n) or {}).get("last_applied", 0) for n in PORTS if n != node)
        h = health(node)
        return h and h.get("leader_id") and h["last_applied"] >= target
    until("node %d caught up" % node, check, within)


# ---- the faults -----------------------------------------------------------------

def kill_leader():
    old = until("a leader", leader)
    log("killing the leader, node %d (docker kill)" % old)
    t0 = time.time()
    run("docker", "kill", container("server-%d" % old))
    others = [n for n in PORTS if n != old]
    new = until("a new leader", lambda: (lambda l: l if l and l != old else None)(leader(others)),
                within=30, every=0.05)
    took = time.time() - t0
    FAILOVERS.append(("leader killed: node %d -> node %d" % (old, new), took))
    log("node %d leads after %.2f s" % (new, took))
    compose("start", "server-%d" % old)
    caught_up(old)
    log("node %d is back and caught up" % old)


def cut_off_follower():
    lead = until("a leader", leader)
    follower = next(n for n in sorted(PORTS) if n != lead and n <= 3)
    network = "%s_kairos" % A.project
    name = container("server-%d" % follower)
    log("disconnecting node %d from the network for 8 s" % follower)
    run("docker", "network", "disconnect", network, name)
    time.sleep(8)
    run("docker", "network", "connect", "--alias", "server-%d" % follower, network, name)
    t0 = time.time()
    caught_up(follower)
    log("node %d reconnected and caught up in %.2f s" % (follower, time.time() - t0))
    FAILOVERS.append(("follower node %d back after an 8 s cut" % follower, time.time() - t0))


def rolling_restart():
    log("rolling restart (deploy/rolling-restart.sh)")
    env = dict(os.environ, COMPOSE=A.compose)
    out = run("deploy/rolling-restart.sh", "-p", A.project, "-f", "deploy/compose.yaml",
              "-f", "deploy/test/compose.test.yaml", env=env)
    for line in out.splitlines():
        log("  " + line.strip())


def replace_server():
    """A follower's machine is lost: removed from the cluster, its container and
    volume deleted, a new server (node 4) with an empty volume added."""
    lead = until("a leader", leader)
    gone = next(n for n in (3, 2, 1) if n != lead)
    log("replacing node %d by node 4 with an empty volume" % gone)
    cli("cluster", "remove-node", "--node-id", str(gone))
    service = "server-%d" % gone
    compose("rm", "-s", "-f", "-v", service)
    run("docker", "volume", "rm", "%s_%s" % (A.project, service))
    del PORTS[gone]
    compose("run", "--rm", "-e", "KAIROS_SERVER_IDS=1 2 3 4", "certs")
    port = int(run("python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"))
    name = "%s-server-4" % A.project
    run("docker", "run", "-d", "--name", name, "--hostname", "server-4",
        "--network", "%s_kairos" % A.project, "--network-alias", "server-4",
        "-v", "%s:/certs:ro" % os.path.join(A.work, "certs"),
        "-v", "%s-server-4:/var/lib/kairos/data" % A.project,
        "-p", "127.0.0.1:%d:8080" % port,
        "-e", "KAIROS_NODE_ID=4", "-e", "KAIROS_DATA_DIR=/var/lib/kairos/data",
        "-e", "KAIROS_GRPC_ADDR=0.0.0.0:7000", "-e", "KAIROS_HTTP_ADDR=0.0.0.0:8080",
        "-e", "KAIROS_ADVERTISE_GRPC_ADDR=server-4:7000",
        "-e", "KAIROS_ADVERTISE_HTTP_ADDR=server-4:8080",
        "-e", "KAIROS_WORKER_LEASE_MS=15000",
        A.image, "server")
    PORTS[4] = port
    until("node 4 answers", lambda: health(4), within=60)
    t0 = time.time()
    cli("cluster", "add-node", "--node-id", "4", "--grpc-addr", "server-4:7000",
        "--http-addr", "server-4:8080")
    caught_up(4)
    FAILOVERS.append(("node 4 added empty and caught up", time.time() - t0))
    log("node 4 is a voter and caught up after %.2f s" % (time.time() - t0))


def kill_worker_mid_task():
    any_node("/api/v1/dags/deploy_long/dagRuns", {"dag_run_id": "long_1"})
    path = "/api/v1/dags/deploy_long/dagRuns/long_1/taskInstances/slow"
    ti = until("slow running", lambda: (lambda t: t if t["state"] == "running" else None)(any_node(path)),
               within=60)
    worker = ti["hostname"] or ti.get("worker")
    victims = [c for c in compose("ps", "-q", "worker").splitlines()
               if run("docker", "inspect", "-f", "{{.Config.Hostname}}", c) == worker]
    assert victims, "no worker container is %s" % worker
    log("killing worker %s mid-task (docker kill)" % worker)
    KILLED[worker] = time.time()
    run("docker", "kill", victims[0])
    t0 = time.time()
    until("slow ran again elsewhere", lambda: (lambda t: t["try_number"] > ti["try_number"]
                                                 and t["state"] in ("running", "success"))(any_node(path)),
          within=90)
    FAILOVERS.append(("a killed worker's task running again elsewhere", time.time() - t0))
    # The killed worker's finished tasks: their logs are read from the servers.
    read = 0
    for run_id in list(TRICKLE.accepted):
        tis = any_node("/api/v1/dags/deploy_trickle/dagRuns/%s/taskInstances" % run_id)["task_instances"]
        for t in tis:
            if t["hostname"] != worker or t["state"] != "success":
                continue
            path = "/api/v1/dags/deploy_trickle/dagRuns/%s/taskInstances/%s/logs/%d" % (
                run_id, t["task_id"], t["try_number"])
            source, text = log_of(path)
            assert source == "servers" and "finished: success" in text, (path, source, text[-300:])
            read += 1
        if read >= 3:
            break
    assert read, "no finished task of the killed worker to read the log of"
    log("read %d logs of the killed worker's finished tasks from the servers" % read)
    # Scaled up to three workers: each new container issues its own certificate.
    # (The killed container is started again, as the same worker.)
    compose("up", "-d", "--no-recreate", "--scale", "worker=3", "worker")
    live = until("three live workers", lambda: (lambda w: w if len(w) >= 3 else None)(
        [x["worker_id"] for x in any_node("/api/v1/workers")["workers"] if x["last_seen_seconds"] < 5]),
        within=60)
    log("scaled to three workers: %s" % live)


KILLED = {}  # worker id -> when its container was killed
TRICKLE = None  # the running Trickle


def log_of(path):
    """A log through any node: (its x-kairos-log-source, its text)."""
    for node in list(PORTS):
        try:
            request = urllib.request.Request("https://127.0.0.1:%d%s" % (PORTS[node], path))
            with urllib.request.urlopen(request, timeout=10, context=CONTEXT) as answer:
                return answer.headers.get("x-kairos-log-source"), answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            if e.code < 500:
                raise
        except Exception:
            continue
    raise RuntimeError("no node answered %s" % path)


# ---- the checks --------------------------------------------------------------------

def check_runs(trickle):
    def states():
        out = {}
        for run_id in trickle.accepted + ["long_1"]:
            dag = "deploy_long" if run_id == "long_1" else "deploy_trickle"
            out[run_id] = any_node("/api/v1/dags/%s/dagRuns/%s" % (dag, run_id))["state"]
        return out
    final = until("every accepted run finished",
                  lambda: (lambda s: s if all(v in ("success", "failed") for v in s.values()) else None)(states()),
                  within=300, every=2)
    bad = {k: v for k, v in final.items() if v != "success"}
    assert not bad, "runs that did not succeed: %s" % bad
    log("every accepted run succeeded: %d trickle runs and the long one (%d triggers refused while no node answered)"
        % (len(trickle.accepted), trickle.refused))


def check_attempts():
    """No task instance ran two attempts at the same time, by the workers' own
    records: an attempt lasts from its start to its end, or to its worker's
    kill when it never ended."""
    spans = {}
    folder = os.path.join(A.work, "attempts")
    for name in os.listdir(folder):
        starts = {}
        for line in open(os.path.join(folder, name), encoding="utf-8"):
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            key = (e["dag_id"], e["run_id"], e["task_id"], e["map_index"])
            if e["event"] == "start":
                starts[e["attempt"]] = (key, e["at_ms"] / 1000.0, e["worker"])
            elif e["attempt"] in starts:
                key, began, worker = starts.pop(e["attempt"])
                spans.setdefault(key, []).append((began, e["at_ms"] / 1000.0, e["attempt"]))
        for attempt, (key, began, worker) in starts.items():
            ended = KILLED.get(worker)
            assert ended, "attempt %s of %s never ended and its worker was not killed" % (attempt, key)
            spans.setdefault(key, []).append((began, ended, attempt))
    overlaps = []
    for key, intervals in spans.items():
        intervals.sort()
        for (a0, a1, x), (b0, b1, y) in zip(intervals, intervals[1:]):
            if b0 < a1:
                overlaps.append((key, x, y))
    assert not overlaps, "attempts ran at the same time: %s" % overlaps
    log("no two attempts of a task instance overlapped (%d attempts of %d task instances)"
        % (sum(len(v) for v in spans.values()), len(spans)))


def check_digests():
    def same():
        digests = {n: api(n, "/api/v1/cluster/digest") for n in PORTS}
        indexes = {d["applied_index"] for d in digests.values()}
        values = {d["digest"] for d in digests.values()}
        return digests if len(indexes) == 1 and len(values) == 1 else None
    digests = until("every server with the same state", same, within=60, every=1)
    d = next(iter(digests.values()))
    log("every server applied %d entries and holds state %s" % (d["applied_index"], d["digest"][:23]))


# ---- the test ----------------------------------------------------------------------

def main():
    global A, CONTEXT, START
    parser = argparse.ArgumentParser()
    for flag in ("compose", "project", "image", "work", "kairos", "examples"):
        parser.add_argument("--" + flag, required=True)
    A = parser.parse_args()
    START = time.time()
    for n in (1, 2, 3):
        PORTS[n] = int(os.environ["KAIROS_PORT_%d" % n])
    log("starting the compose cluster (project %s)" % A.project)
    compose("up", "-d", "--scale", "worker=2")
    CONTEXT = tls()
    until("three servers and a leader", lambda: leader() and all(health(n) for n in PORTS), within=120)
    until("the containers healthy", lambda: all(
        run("docker", "inspect", "-f", "{{.State.Health.Status}}", container(s)) == "healthy"
        for s in ("server-1", "server-2", "server-3")), within=120, every=2)
    workers = until("two workers registered", lambda: (lambda w: w if len(w) == 2 else None)(
        any_node("/api/v1/workers")["workers"]), within=60)
    log("up: leader node %d, workers %s" % (leader(), [w["worker_id"] for w in workers]))

    dags = os.path.join(A.work, "dags")
    os.makedirs(dags)
    with open(os.path.join(dags, "deploy_trickle.yml"), "w") as f:
        f.write(TRICKLE_DAG)
    with open(os.path.join(dags, "deploy_long.yml"), "w") as f:
        f.write(LONG_DAG)
    log(cli("dags", "push", A.examples).splitlines()[-1])
    log(cli("dags", "push", dags, "--bundle", "deploy-test").splitlines()[-1])

    global TRICKLE
    trickle = TRICKLE = Trickle()
    trickle.start()
    time.sleep(5)
    kill_leader()
    time.sleep(3)
    cut_off_follower()
    time.sleep(3)
    rolling_restart()
    time.sleep(3)
    replace_server()
    time.sleep(3)
    kill_worker_mid_task()
    time.sleep(5)
    trickle.stop.set()
    trickle.join()

    check_runs(trickle)
    check_attempts()
    check_digests()
    log("failover and recovery times:")
    for what, took in FAILOVERS:
        log("  %-55s %6.2f s" % (what, took))
    log("deployment test passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("deployment test FAILED: %s" % e, file=sys.stderr)
        try:
            print(compose("logs", "--tail", "40", check=False), file=sys.stderr)
        except Exception:
            pass
        sys.exit(1)
