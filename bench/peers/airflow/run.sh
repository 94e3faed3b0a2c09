#!/usr/bin/env bash
# Airflow beside Kairos: installs Apache Airflow (pinned) from PyPI into a
# virtualenv, starts PostgreSQL (Debian's) on 127.0.0.1, runs the LocalExecutor
# scheduler with the same 50-task chain as chain_dag.py, triggers it RUNS times
# and prints, as one JSON line, the gaps between one task's end and the next
# one's start read from Airflow's own task_instance table.
#
# When Airflow or PostgreSQL cannot be had here, it prints
# {"measured": false, "why": "..."} instead: never a made-up number.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
AIRFLOW_VERSION=2.10.5
RUNS=${RUNS:-3}
work=${AIRFLOW_BENCH_DIR:-$HOME/.cache/kairos-airflow-bench}
port=${AIRFLOW_BENCH_PG_PORT:-54329}
log=$work/bench.log
mkdir -p "$work"
: > "$log"

not_measured() {
    python3 -c 'import json,sys; print(json.dumps({"measured": False, "why": sys.argv[1]}))' "$1"
    exit 0
}

# 1. Airflow, pinned, in its own virtualenv (the constraints files are on
#    GitHub, out of reach here: pip resolves the pinned Airflow alone).
venv=$work/venv-$AIRFLOW_VERSION
if ! "$venv/bin/airflow" version >/dev/null 2>&1; then
    python3 -m venv "$venv" >>"$log" 2>&1 || not_measured "cannot make a virtualenv (python3-venv missing?)"
    "$venv/bin/pip" install -q --upgrade pip >>"$log" 2>&1
    "$venv/bin/pip" install -q "apache-airflow==$AIRFLOW_VERSION" apache-airflow-providers-postgres psycopg2-binary >>"$log" 2>&1 \
        || not_measured "pip could not install apache-airflow==$AIRFLOW_VERSION (see $log)"
fi

# 2. PostgreSQL from Debian's packages, in a throwaway cluster.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || not_measured "PostgreSQL is not installed (apt-get install postgresql)"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || not_measured "running as root without a postgres user to run PostgreSQL as"
    as_pg=(runuser -u postgres --)
fi
# Under /tmp: the postgres user may not enter the caller's home.
pgdir=$(mktemp -d /tmp/kairos-airflow-pg.XXXXXX)
chmod 755 "$pgdir"
[ "$(id -u)" -eq 0 ] && chown postgres "$pgdir"
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >>"$log" 2>&1 || not_measured "initdb failed (see $log)"
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -o "-p $port -k $pgdir -c fsync=on" -l "$pgdir/log" -w start >>"$log" 2>&1 \
    || not_measured "PostgreSQL did not start on port $port (see $pgdir/log)"
pg=(-h 127.0.0.1 -p "$port" -U postgres)
cleanup() {
    [ -n "${scheduler:-}" ] && kill "$scheduler" 2>/dev/null && wait "$scheduler" 2>/dev/null
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >>"$log" 2>&1
    rm -rf "$pgdir"
}
trap cleanup EXIT
psql "${pg[@]}" -qc "create database airflow" >>"$log" 2>&1

# 3. Airflow on it: LocalExecutor, the chain DAG only.
export AIRFLOW_HOME=$work/home
rm -rf "$AIRFLOW_HOME" && mkdir -p "$AIRFLOW_HOME/dags"
cp "$here/chain_dag.py" "$AIRFLOW_HOME/dags/"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://postgres@127.0.0.1:$port/airflow"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER=$AIRFLOW_HOME/dags
"$venv/bin/airflow" db migrate >>"$log" 2>&1 || not_measured "airflow db migrate failed (see $log)"
"$venv/bin/airflow" scheduler >>"$log" 2>&1 &
scheduler=$!
for _ in $(seq 1 120); do
    "$venv/bin/airflow" dags list 2>/dev/null | grep -q bench_chain_50 && break
    sleep 1
done
"$venv/bin/airflow" dags unpause bench_chain_50 >>"$log" 2>&1

# 4. RUNS runs, one after the other.
runs=()
for n in $(seq 1 "$RUNS"); do
    run_id="bench_$n"
    "$venv/bin/airflow" dags trigger bench_chain_50 -r "$run_id" >>"$log" 2>&1 || not_measured "cannot trigger a run (see $log)"
    state=""
    for _ in $(seq 1 900); do
        state=$(psql "${pg[@]}" -d airflow -Atc "select state from dag_run where dag_id = 'bench_chain_50' and run_id = '$run_id'" 2>/dev/null)
        [ "$state" = success ] || [ "$state" = failed ] && break
        sleep 1
    done
    [ "$state" = success ] || not_measured "run $run_id ended '$state', not success (see $log)"
    runs+=("$run_id")
done
"$venv/bin/python" "$here/gaps.py" "${pg[@]}" -d airflow "${runs[@]}"
