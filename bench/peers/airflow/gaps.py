"""Reads the task instances of the bench runs from Airflow's database and prints
the gaps between one task's end and the next one's start, as JSON."""
import json
import statistics
import subprocess
import sys

dsn_args, run_ids = sys.argv[1:9], sys.argv[9:]


def rows(run_id):
    query = (
        "select task_id, extract(epoch from start_date), extract(epoch from end_date) "
        "from task_instance where dag_id = 'bench_chain_50' and run_id = '%s' "
        "order by task_id" % run_id
    )
    out = subprocess.run(
        ["psql", *dsn_args, "-At", "-F", ",", "-c", query],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split(",") for line in out.splitlines() if line]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * q))]


runs = []
for run_id in run_ids:
    tis = rows(run_id)
    starts = [float(t[1]) for t in tis]
    ends = [float(t[2]) for t in tis]
    gaps = [(starts[i + 1] - ends[i]) * 1000 for i in range(len(tis) - 1)]
    runs.append({
        "run_id": run_id,
        "tasks": len(tis),
        "gap_p50_ms": pct(gaps, 0.5),
        "gap_p99_ms": pct(gaps, 0.99),
        "gap_max_ms": max(gaps),
        "chain_ms": (max(ends) - min(starts)) * 1000,
    })
summary = {
    key: statistics.median(r[key] for r in runs)
    for key in ("gap_p50_ms", "gap_p99_ms", "gap_max_ms", "chain_ms")
}
print(json.dumps({"measured": True, "runs": runs, "median_of_runs": summary}))
