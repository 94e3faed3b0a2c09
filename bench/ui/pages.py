"""Times what the web UI's pages ask of a node, for a DAG of 1,000 tasks with
25 runs (the issue's yardstick: each page's server time under 200 ms).

Usage: python3 bench/ui/pages.py KAIROS_BINARY [REPEATS]

Starts a `kairos dev` on a folder holding one generated DAG (1,000
EmptyOperator tasks in 10 task groups, chained in layers of 100), triggers 25
runs and waits for them, then asks each page's requests REPEATS times (default
20) over loopback and prints min / median / max per page. Loopback time is
server time plus a few tenths of a millisecond. Nothing here is a test: it
prints figures."""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TASKS = 1000
RUNS = 25


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dag_file():
    lines = ["big_ui:", "  schedule: null", "  start_date: 2024-01-01", "  task_groups:"]
    for g in range(10):
        lines.append("    layer_%d: {}" % g)
    lines.append("  tasks:")
    for g in range(10):
        for t in range(TASKS // 10):
            lines.append("    t_%d_%03d:" % (g, t))
            lines.append("      operator: airflow.providers.standard.operators.empty.EmptyOperator")
            lines.append("      task_group_name: layer_%d" % g)
            if g:
                lines.append("      dependencies: [t_%d_%03d]" % (g - 1, t))
    return "\n".join(lines) + "\n"


def get(base, path, body=None, gzip=False):
    """Time and bytes of one request; with `gzip`, asked as a browser asks
    (Accept-Encoding: gzip), the bytes as they travel."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if gzip:
        headers["Accept-Encoding"] = "gzip"
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(),
        headers=headers, method="POST" if body is not None else "GET")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        data = answer.read()
    return (time.perf_counter() - started) * 1000, data


def main():
    binary = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    work = tempfile.mkdtemp(prefix="kairos-ui-bench-")
    dags = os.path.join(work, "dags")
    os.makedirs(dags)
    with open(os.path.join(dags, "big_ui.yml"), "w") as f:
        f.write(dag_file())
    http = "127.0.0.1:%d" % free_port()
    log = open(os.path.join(work, "dev.log"), "w")
    dev = subprocess.Popen([binary, "dev", "--dags", dags, "--http-addr", http,
                            "--grpc-addr", "127.0.0.1:%d" % free_port(),
                            "--data-dir", os.path.join(work, "data")], stdout=log, stderr=log)
    base = "http://" + http
    try:
        deadline = time.time() + 120
        while True:
            try:
                get(base, "/api/v1/dags/big_ui")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        for n in range(RUNS):
            get(base, "/api/v1/dags/big_ui/dagRuns", {"dag_run_id": "run_%02d" % n})
        deadline = time.time() + 600
        while True:
            _, data = get(base, "/api/v1/dags/big_ui/dagRuns?limit=100&state=success")
            done = len(json.loads(data)["dag_runs"])
            if done >= RUNS:
                break
            if time.time() > deadline:
                raise SystemExit("only %d of %d runs succeeded" % (done, RUNS))
            time.sleep(1)
        run = "run_%02d" % (RUNS - 1)
        pages = {
            "DAG list (/dags + last runs)": ["/api/v1/dags?limit=1000",
                                             "/api/v1/dags/big_ui/dagRuns?limit=5&order_by=-logical_date"],
            "grid (25 runs x 1,000 tasks)": ["/api/v1/dags/big_ui/grid?limit=25"],
            "graph (version + a run's 1,000 states)": [
                "/api/v1/dags/big_ui/versions", "/api/v1/dags/big_ui/dagRuns?limit=100&order_by=-logical_date",
                "/api/v1/dags/big_ui/versions/1",
                "/api/v1/dags/big_ui/dagRuns/%s/taskInstances?limit=1000" % run],
            "task instance (ti, explain, tries, XComs, log)": [
                "/api/v1/dags/big_ui/dagRuns/%s/taskInstances/layer_9.t_9_099" % run,
                "/api/v1/dags/big_ui/dagRuns/%s/taskInstances/layer_9.t_9_099/explain" % run,
                "/api/v1/dags/big_ui/dagRuns/%s/taskInstances/layer_9.t_9_099/tries" % run,
                "/api/v1/dags/big_ui/dagRuns/%s/taskInstances/layer_9.t_9_099/xcomEntries" % run],
            "trigger form (/details)": ["/api/v1/dags/big_ui/details"],
            "versions (list + version 1)": ["/api/v1/dags/big_ui/versions", "/api/v1/dags/big_ui/versions/1"],
            "cluster (/cluster)": ["/api/v1/cluster"],
            "page shell + script + style": ["/ui/dags/big_ui", "/ui/assets/app.js", "/ui/assets/style.css"],
        }
        print("%d tasks, %d runs, %d repeats; milliseconds over loopback, each page's requests in turn"
              % (TASKS, RUNS, repeats))
        print("%-48s %8s %8s %8s %10s %9s %9s" % ("page", "min", "median", "max", "bytes",
                                                   "gzip med", "gzip B"))
        for name, paths in pages.items():
            measured = {}
            for gzip in (False, True):
                times, size = [], 0
                for _ in range(repeats):
                    total, size = 0.0, 0
                    for path in paths:
                        ms, data = get(base, path, gzip=gzip)
                        total += ms
                        size += len(data)
                    times.append(total)
                measured[gzip] = (times, size)
            (times, size), (gz_times, gz_size) = measured[False], measured[True]
            print("%-48s %8.1f %8.1f %8.1f %10d %9.1f %9d" % (
                name, min(times), statistics.median(times), max(times), size,
                statistics.median(gz_times), gz_size))
    finally:
        dev.terminate()
        dev.wait()


if __name__ == "__main__":
    main()
