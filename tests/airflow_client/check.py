"""Drives a `kairos dev` through Airflow's own Python client
(apache-airflow-client 2.10, REST API v1), as an Airflow user's scripts do,
and asserts the answers. tests/airflow_client.sh sets it up and runs it.

Usage: check.py HOST [TOKEN_HOST VIEWER_TOKEN]
  HOST         http://127.0.0.1:PORT/api/v1 of a `kairos dev` on dags/ here
  TOKEN_HOST   .../api/v1 of a `kairos server` whose token file holds
               `viewer VIEWER_TOKEN` (the authentication checks)
"""

import datetime
import json
import sys
import time

import airflow_client.client as client
from airflow_client.client.api import (
    dag_api,
    dag_run_api,
    dag_stats_api,
    dag_warning_api,
    dataset_api,
    import_error_api,
    monitoring_api,
    pool_api,
    task_instance_api,
    variable_api,
    x_com_api,
)
from airflow_client.client.model.clear_dag_run import ClearDagRun
from airflow_client.client.model.clear_task_instances import ClearTaskInstances
from airflow_client.client.model.dag import DAG
from airflow_client.client.model.create_dataset_event import CreateDatasetEvent
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.pool import Pool
from airflow_client.client.model.update_dag_run_state import UpdateDagRunState
from airflow_client.client.model.update_task_instance import UpdateTaskInstance
from airflow_client.client.model.update_task_state import UpdateTaskState
from airflow_client.client.model.variable import Variable

PASSED = []


def check(name):
    """Records a call that answered as expected."""
    PASSED.append(name)
    print(f"ok  {name}", flush=True)


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_status(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except client.ApiException as e:
        expect(e.status == status, f"{call.__name__}: {e.status} instead of {status}: {e.body}")
        return e
    raise AssertionError(f"{call.__name__} answered, {status} expected")


def wait_for(what, read, done, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.2)


def run_state(runs, dag_id, run_id):
    return runs.get_dag_run(dag_id, run_id).state.value


def main(host):
    api = client.ApiClient(client.Configuration(host=host))
    dags = dag_api.DAGApi(api)
    runs = dag_run_api.DAGRunApi(api)
    tis = task_instance_api.TaskInstanceApi(api)
    xcoms = x_com_api.XComApi(api)
    pools = pool_api.PoolApi(api)
    variables = variable_api.VariableApi(api)
    monitoring = monitoring_api.MonitoringApi(api)
    stats_api = dag_stats_api.DagStatsApi(api)

    # Health and version.
    health = monitoring.get_health()
    expect(health.metadatabase.status.value == "healthy", health)
    expect(health.scheduler.status.value == "healthy", health)
    check("monitoring.get_health")
    version = monitoring.get_version()
    expect(version.version, version)
    check("monitoring.get_version")
    errors = import_error_api.ImportErrorApi(api).get_import_errors()
    expect(errors.total_entries == 0 and errors.import_errors == [], errors)
    expect_status(404, import_error_api.ImportErrorApi(api).get_import_error, 1)
    check("import_error.get_import_errors (none: broken files are refused at push), "
          "get_import_error (404)")
    warnings = dag_warning_api.DagWarningApi(api).get_dag_warnings()
    expect(warnings.total_entries == 0, warnings)
    check("dag_warning.get_dag_warnings (none)")

    # DAGs: the three files of dags/ are pushed by `kairos dev`.
    ours = ["client_chain", "client_cron", "client_switch"]
    listed = wait_for(
        "the DAGs pushed",
        lambda: dags.get_dags(tags=["airflow-client"]),
        lambda r: [d.dag_id for d in r.dags] == ours,
    )
    expect(listed.total_entries == 3, listed.total_entries)
    chain = [d for d in listed.dags if d.dag_id == "client_chain"][0]
    expect([t.name for t in chain.tags] == ["airflow-client", "chain"], chain.tags)
    expect(chain.owners == ["client-check"], chain.owners)
    expect(chain.schedule_interval is None, chain.schedule_interval)
    expect(chain.fileloc.endswith("client_chain.yml"), chain.fileloc)
    check("dag.get_dags (tags filter, total_entries)")
    page = dags.get_dags(tags=["airflow-client"], limit=1, offset=1)
    expect([d.dag_id for d in page.dags] == ["client_cron"], page)
    expect(page.total_entries == 3, page.total_entries)
    every = dags.get_dags()
    expect(every.total_entries == 6 and len(every.dags) == 6, every.total_entries)
    check("dag.get_dags (limit, offset)")
    cron = dags.get_dag("client_cron")
    expect(cron.schedule_interval.value == "0 3 * * 1-5", cron.schedule_interval)
    expect(cron.dag_display_name == "Client cron", cron.dag_display_name)
    expect(cron.max_active_runs == 2, cron.max_active_runs)
    check("dag.get_dag")
    details = dags.get_dag_details("client_cron")
    expect(details.timezone == "UTC", details.timezone)
    expect(details.start_date == datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc),
           details.start_date)
    expect(details.catchup is False or details.catchup is True, details.catchup)
    # The 2.10 client cannot read a DAGDetail's nested models (dag_run_timeout,
    # schedule_interval) even from Airflow (apache/airflow-client-python#124):
    # those are checked in the raw answer.
    raw = json.loads(dags.get_dag_details("client_cron", _preload_content=False).data)
    expect(raw["dag_run_timeout"] == {"__type": "TimeDelta", "days": 0, "seconds": 7200,
                                      "microseconds": 0}, raw["dag_run_timeout"])
    expect(raw["schedule_interval"] == {"__type": "CronExpression", "value": "0 3 * * 1-5"},
           raw["schedule_interval"])
    check("dag.get_dag_details")
    tasks = dags.get_tasks("client_chain")
    expect([t.task_id for t in tasks.tasks] == ["extract", "transform", "load"], tasks)
    expect(tasks.tasks[0].downstream_task_ids == ["transform"], tasks.tasks[0])
    expect(tasks.tasks[0].class_ref.class_name == "BashOperator", tasks.tasks[0].class_ref)
    only = dags.get_tasks("client_cron").tasks[0]
    expect(only.trigger_rule.value == "all_done", only.trigger_rule)
    expect(only.retries == 3 and only.retry_delay.seconds == 90, only)
    expect(only.execution_timeout.seconds == 600, only.execution_timeout)
    check("dag.get_tasks")
    task = dags.get_task("client_chain", "load")
    expect(task.owner == "client-check", task)
    check("dag.get_task")
    paused = dags.patch_dag("client_cron", DAG(is_paused=True), update_mask=["is_paused"])
    expect(paused.is_paused is True, paused)
    expect(dags.get_dag("client_cron").is_paused is True, "not paused")
    expect(dags.patch_dag("client_cron", DAG(is_paused=False)).is_paused is False, "unpause")
    check("dag.patch_dag (is_paused)")
    many = dags.patch_dags("client_c", DAG(is_paused=True), update_mask=["is_paused"])
    expect([d.dag_id for d in many.dags] == ["client_chain", "client_cron"], many)
    expect(all(d.is_paused for d in many.dags) and many.total_entries == 2, many)
    expect(dags.get_dag("client_chain").is_paused is True, "not paused")
    again = dags.patch_dags("~", DAG(is_paused=False))
    expect(again.total_entries == 6 and not any(d.is_paused for d in again.dags), again)
    check("dag.patch_dags (a pattern, then ~)")
    expect_status(404, dags.get_dag, "no_such_dag")
    check("dag.get_dag of a missing DAG: 404")

    # A run: trigger, wait, read its task instances, XComs and logs.
    logical = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    run = runs.post_dag_run(
        "client_chain",
        DAGRun(dag_run_id="client_run_1", logical_date=logical, conf={"who": "client"}),
    )
    expect(run.dag_run_id == "client_run_1" and run.run_type == "manual", run)
    expect(run.external_trigger is True, run)
    expect(run.conf == {"who": "client"}, run.conf)
    check("dag_run.post_dag_run")
    expect_status(409, runs.post_dag_run, "client_chain", DAGRun(dag_run_id="client_run_1"))
    check("dag_run.post_dag_run of an existing run: 409")
    wait_for("client_run_1", lambda: run_state(runs, "client_chain", "client_run_1"),
             lambda s: s in ("success", "failed"))
    got = runs.get_dag_run("client_chain", "client_run_1")
    expect(got.state.value == "success", got)
    expect(got.logical_date == logical and got.execution_date == logical, got)
    check("dag_run.get_dag_run")
    listed = tis.get_task_instances("client_chain", "client_run_1")
    expect(listed.total_entries == 3, listed.total_entries)
    expect(sorted(t.task_id for t in listed.task_instances) == ["extract", "load", "transform"],
           listed)
    expect(all(t.state.value == "success" for t in listed.task_instances), listed)
    check("task_instance.get_task_instances")
    extract = tis.get_task_instance("client_chain", "client_run_1", "extract")
    expect(extract.try_number == 1 and extract.hostname == "dev", extract)
    expect(extract.operator == "BashOperator", extract.operator)
    expect(extract.duration is not None and extract.duration >= 0, extract.duration)
    check("task_instance.get_task_instance")
    entries = xcoms.get_xcom_entries("client_chain", "client_run_1", "extract")
    expect(entries.total_entries == 1, entries)
    expect(entries.xcom_entries[0].key == "return_value", entries)
    check("xcom.get_xcom_entries")
    entry = xcoms.get_xcom_entry("client_chain", "client_run_1", "extract", "return_value")
    expect(entry.value == "rows=42", entry)
    expect(entry.task_id == "extract" and entry.dag_id == "client_chain", entry)
    transformed = xcoms.get_xcom_entry("client_chain", "client_run_1", "transform",
                                       "return_value")
    expect(transformed.value == "transformed rows=42", transformed)
    check("xcom.get_xcom_entry")
    expect_status(404, xcoms.get_xcom_entry, "client_chain", "client_run_1", "extract", "nope")
    check("xcom.get_xcom_entry of a missing key: 404")
    log = tis.get_log("client_chain", "client_run_1", "extract", 1)
    expect("hello from extract on 2026-03-01" in log.content, log.content)
    expect(log.continuation_token, log)
    check("task_instance.get_log (JSON)")
    # The same log as text when asked for text only.
    raw = api.rest_client.pool_manager.request(
        "GET", f"{host}/dags/client_chain/dagRuns/client_run_1/taskInstances/extract/logs/1",
        headers={"Accept": "text/plain"})
    expect(raw.status == 200 and "hello from extract" in raw.data.decode(), raw.data)
    expect(raw.headers["content-type"].startswith("text/plain"), raw.headers)
    check("task_instance.get_log (text)")

    # A mapped task: its instances, one by its path, and one instance's XCom.
    runs.post_dag_run("client_mapped", DAGRun(dag_run_id="mapped_run", logical_date=logical))
    wait_for("mapped_run", lambda: run_state(runs, "client_mapped", "mapped_run"),
             lambda s: s in ("success", "failed"))
    mapped = tis.get_mapped_task_instances("client_mapped", "mapped_run", "fan")
    expect(mapped.total_entries == 3, mapped)
    expect([t.map_index for t in mapped.task_instances] == [0, 1, 2], mapped)
    check("task_instance.get_mapped_task_instances")
    second = tis.get_mapped_task_instance("client_mapped", "mapped_run", "fan", 1)
    expect(second.map_index == 1 and second.state.value == "success", second)
    check("task_instance.get_mapped_task_instance")
    two = xcoms.get_xcom_entry("client_mapped", "mapped_run", "fan", "return_value", map_index=1)
    expect(two.value == "two", two)
    check("xcom.get_xcom_entry (map_index)")
    # Clearing a whole run: a dry run lists its instances, then it runs again.
    listed = runs.clear_dag_run("client_mapped", "mapped_run", ClearDagRun(dry_run=True))
    # Kairos keeps the unmapped instance (map index -1) as `removed` beside the 3.
    expect(listed["total_entries"] == 4, listed)
    cleared = runs.clear_dag_run("client_mapped", "mapped_run", ClearDagRun(dry_run=False))
    expect(cleared["dag_run_id"] == "mapped_run", cleared)
    wait_for("mapped_run again", lambda: run_state(runs, "client_mapped", "mapped_run"),
             lambda s: s == "success")
    again = tis.get_mapped_task_instance("client_mapped", "mapped_run", "fan", 2)
    expect(again.try_number == 2, again)
    check("dag_run.clear_dag_run (dry run, then cleared and run again)")

    # Runs: list with paging, mark, delete.
    for n in (2, 3):
        runs.post_dag_run("client_chain", DAGRun(dag_run_id=f"client_run_{n}",
                          logical_date=logical + datetime.timedelta(days=n)))
    for n in (2, 3):
        wait_for(f"client_run_{n}", lambda: run_state(runs, "client_chain", f"client_run_{n}"),
                 lambda s: s in ("success", "failed"))
    listed = runs.get_dag_runs("client_chain")
    expect(listed.total_entries == 3, listed.total_entries)
    page = runs.get_dag_runs("client_chain", limit=1, offset=1, order_by="-execution_date")
    expect([r.dag_run_id for r in page.dag_runs] == ["client_run_2"], page)
    expect(page.total_entries == 3, page)
    after = runs.get_dag_runs("client_chain",
                              execution_date_gte=logical + datetime.timedelta(days=3))
    expect([r.dag_run_id for r in after.dag_runs] == ["client_run_3"], after)
    check("dag_run.get_dag_runs (limit, offset, order_by, filters)")
    same = tis.patch_task_instance("client_chain", "client_run_2", "load",
                                   UpdateTaskInstance(new_state=UpdateTaskState("failed")))
    expect(same.task_id == "load", same)
    expect(tis.get_task_instance("client_chain", "client_run_2", "load").state.value == "success",
           "a dry run (Airflow's default) marked")
    tis.patch_task_instance("client_chain", "client_run_2", "load",
                            UpdateTaskInstance(new_state=UpdateTaskState("failed"), dry_run=False))
    expect(tis.get_task_instance("client_chain", "client_run_2", "load").state.value == "failed",
           "not marked")
    check("task_instance.patch_task_instance (dry run, then marked)")
    marked = runs.update_dag_run_state("client_chain", "client_run_3",
                                       UpdateDagRunState(state="failed"))
    expect(marked.state.value == "failed", marked)
    check("dag_run.update_dag_run_state")
    runs.delete_dag_run("client_chain", "client_run_3")
    expect_status(404, runs.get_dag_run, "client_chain", "client_run_3")
    expect(runs.get_dag_runs("client_chain").total_entries == 2, "deleted run still listed")
    check("dag_run.delete_dag_run")
    ranged = dags.post_clear_task_instances("client_chain", ClearTaskInstances(
        task_ids=["extract"], only_failed=False,
        start_date=(logical + datetime.timedelta(days=1)).isoformat(),
        end_date=(logical + datetime.timedelta(days=5)).isoformat()))
    expect([(t.dag_run_id, t.task_id) for t in ranged.task_instances] ==
           [("client_run_2", "extract")], ranged)
    past = dags.post_clear_task_instances("client_chain", ClearTaskInstances(
        dag_run_id="client_run_2", include_past=True, task_ids=["load"], only_failed=False))
    expect(sorted(t.dag_run_id for t in past.task_instances) == ["client_run_1", "client_run_2"],
           past)
    check("dag.post_clear_task_instances (a date range, include_past; dry runs)")

    stats = stats_api.get_dag_stats("client_chain,client_mapped,no_such_dag")
    expect([d.dag_id for d in stats.dags] == ["client_chain", "client_mapped"], stats)
    counts = {s.state: s.count for s in stats.dags[0].stats}
    expect(sum(counts.values()) == 2 and set(counts) == {"queued", "running", "success",
                                                         "failed"}, counts)
    check("dag_stats.get_dag_stats")

    # Variables: create, read, list, change, delete.
    made = variables.post_variables(Variable(key="client_switch", value="off",
                                             description="gates client_switch"))
    expect(made.key == "client_switch" and made.value == "off", made)
    check("variable.post_variables")
    expect(variables.get_variable("client_switch").value == "off", "variable read")
    check("variable.get_variable")
    listed = variables.get_variables()
    expect("client_switch" in [v.key for v in listed.variables], listed)
    expect(listed.total_entries >= 1, listed)
    check("variable.get_variables")

    # Clear: a failed task runs again once the Variable lets it.
    runs.post_dag_run("client_switch", DAGRun(dag_run_id="gate_run", logical_date=logical))
    wait_for("gate_run", lambda: run_state(runs, "client_switch", "gate_run"),
             lambda s: s in ("success", "failed"))
    gate = tis.get_task_instance("client_switch", "gate_run", "gate")
    expect(gate.state.value == "failed", gate)
    after_gate = tis.get_task_instance("client_switch", "gate_run", "after_gate")
    expect(after_gate.state.value == "upstream_failed", after_gate)
    changed = variables.patch_variable("client_switch",
                                       Variable(key="client_switch", value="on"),
                                       update_mask=["value"])
    expect(changed.value == "on" and changed.description == "gates client_switch", changed)
    check("variable.patch_variable")
    dry = dags.post_clear_task_instances("client_switch", ClearTaskInstances(
        dag_run_id="gate_run", task_ids=["gate"], include_downstream=True))
    # only_failed (true unless said): gate failed, after_gate is upstream_failed.
    expect(sorted(t.task_id for t in dry.task_instances) == ["after_gate", "gate"], dry)
    expect(tis.get_task_instance("client_switch", "gate_run", "gate").state.value == "failed",
           "a dry run cleared")
    check("dag.post_clear_task_instances (dry run, Airflow's default)")
    cleared = dags.post_clear_task_instances("client_switch", ClearTaskInstances(
        dry_run=False, dag_run_id="gate_run", task_ids=["gate"], include_downstream=True,
        only_failed=False))
    expect(sorted(t.task_id for t in cleared.task_instances) == ["after_gate", "gate"], cleared)
    expect(all(t.dag_run_id == "gate_run" for t in cleared.task_instances), cleared)
    wait_for("gate_run again", lambda: run_state(runs, "client_switch", "gate_run"),
             lambda s: s == "success")
    gate = tis.get_task_instance("client_switch", "gate_run", "gate")
    expect(gate.state.value == "success" and gate.try_number == 2, gate)
    log = tis.get_log("client_switch", "gate_run", "gate", 2)
    expect("switch is on" in log.content, log.content)
    check("dag.post_clear_task_instances (clears, the task runs again)")
    tries = tis.get_task_instance_tries("client_switch", "gate_run", "gate")
    expect([(t.try_number, t.state.value) for t in tries.task_instances] ==
           [(1, "failed"), (2, "success")], tries)
    first = tis.get_task_instance_try_details("client_switch", "gate_run", "gate", 1)
    expect(first.state.value == "failed" and first.hostname == "dev", first)
    check("task_instance.get_task_instance_tries, get_task_instance_try_details")
    variables.delete_variable("client_switch")
    expect_status(404, variables.get_variable, "client_switch")
    check("variable.delete_variable")

    # Pools: create, read, list, change, delete.
    made = pools.post_pool(Pool(name="client_pool", slots=3, description="for the check"))
    expect(made.name == "client_pool" and made.slots == 3 and made.open_slots == 3, made)
    check("pool.post_pool")
    expect_status(409, pools.post_pool, Pool(name="client_pool", slots=1))
    check("pool.post_pool of an existing pool: 409")
    got = pools.get_pool("client_pool")
    expect(got.description == "for the check" and got.occupied_slots == 0, got)
    check("pool.get_pool")
    listed = pools.get_pools()
    expect(sorted(p.name for p in listed.pools) == ["client_pool", "default_pool"], listed)
    expect(listed.total_entries == 2, listed)
    check("pool.get_pools")
    changed = pools.patch_pool("client_pool", Pool(name="client_pool", slots=5),
                               update_mask=["slots"])
    expect(changed.slots == 5 and changed.description == "for the check", changed)
    check("pool.patch_pool")
    pools.delete_pool("client_pool")
    expect_status(404, pools.get_pool, "client_pool")
    check("pool.delete_pool")

    # Datasets (Airflow 3's assets): a producer's success runs its consumer; so
    # does an event posted through the API.
    datasets = dataset_api.DatasetApi(api)
    runs.post_dag_run("client_asset_writer", DAGRun(dag_run_id="p1"))
    wait_for("the producer's run", lambda: runs.get_dag_run("client_asset_writer", "p1"),
             lambda r: r.state.value == "success")
    consumed = wait_for(
        "the consumer's dataset-triggered run",
        lambda: runs.get_dag_runs("client_asset_reader"),
        lambda r: any(x.state.value == "success" for x in r.dag_runs))
    first = consumed.dag_runs[0]
    expect(str(first.run_type) == "dataset_triggered", first)
    check("a producer's success runs the consumer (dataset_triggered)")
    listed = datasets.get_datasets()
    orders = [d for d in listed.datasets if d.uri == "s3://client/orders"]
    expect(len(orders) == 1, listed)
    expect([c.dag_id for c in orders[0].consuming_dags] == ["client_asset_reader"], orders)
    expect([(t.dag_id, t.task_id) for t in orders[0].producing_tasks]
           == [("client_asset_writer", "write")], orders)
    check("dataset.get_datasets")
    events = datasets.get_dataset_events(dataset_id=orders[0].id)
    expect(events.total_entries == 1 and events.dataset_events[0].source_run_id == "p1", events)
    check("dataset.get_dataset_events")
    upstream = datasets.get_upstream_dataset_events("client_asset_reader", first.dag_run_id)
    expect([e.source_dag_id for e in upstream.dataset_events] == ["client_asset_writer"], upstream)
    check("dataset.get_upstream_dataset_events")
    made = datasets.create_dataset_event(
        CreateDatasetEvent(dataset_uri="s3://client/orders", extra={"from": "client"}))
    expect(made.dataset_uri == "s3://client/orders" and made.extra == {"from": "client"}, made)
    wait_for("a second dataset-triggered run",
             lambda: runs.get_dag_runs("client_asset_reader"),
             lambda r: sum(x.state.value == "success" for x in r.dag_runs) == 2)
    check("dataset.create_dataset_event runs the consumer again")
    expect_status(404, datasets.create_dataset_event,
                  CreateDatasetEvent(dataset_uri="s3://nobody"))
    check("dataset.create_dataset_event of an asset no DAG names: 404")

    # A problem the client can read: a bad filter is a 400 with a detail.
    error = expect_status(400, runs.get_dag_runs, "client_chain", state=["exploded"])
    expect("exploded" in error.body, error.body)
    check("dag_run.get_dag_runs with a bad state: 400 problem")

    # Deleting a DAG: it goes with its runs; a second delete is a 404.
    expect(dags.get_dag("client_cron").dag_id == "client_cron", "client_cron readable")
    dags.delete_dag("client_cron")
    expect_status(404, dags.get_dag, "client_cron")
    expect_status(404, dags.delete_dag, "client_cron")
    expect("client_cron" not in [d.dag_id for d in dags.get_dags().dags], "still listed")
    check("dag.delete_dag (then 404)")


def main_tokens(host, token):
    """Airflow's clients authenticate with basic auth (the 2.x client) or a
    bearer header: both carry a Kairos API token."""
    basic = client.Configuration(host=host, username="airflow", password=token)
    listed = dag_api.DAGApi(client.ApiClient(basic)).get_dags()
    expect(listed.total_entries == 0, listed)
    check("basic authentication with a token as the password")
    bearer = client.ApiClient(client.Configuration(host=host),
                              header_name="Authorization", header_value=f"Bearer {token}")
    expect(dag_api.DAGApi(bearer).get_dags().dags == [], "bearer")
    check("bearer token")
    wrong = client.Configuration(host=host, username="airflow", password="wrong")
    expect_status(401, dag_api.DAGApi(client.ApiClient(wrong)).get_dags)
    check("a wrong token: 401")
    # A viewer may read but not change.
    expect_status(403, pool_api.PoolApi(client.ApiClient(basic)).post_pool,
                  Pool(name="p", slots=1))
    check("a viewer's write: 403")


if __name__ == "__main__":
    main(sys.argv[1])
    if len(sys.argv) > 3:
        main_tokens(sys.argv[2], sys.argv[3])
    print(f"{len(PASSED)} client calls answered as Airflow's would")
