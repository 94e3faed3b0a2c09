//! Python DAG files through `kairos dags validate`: an Airflow 2 tutorial file
//! (classic operators, `>>` with a list, default_args with a timedelta, a
//! PythonOperator) and an Airflow 3 TaskFlow file load with nothing installed;
//! an import Kairos does not provide, a task Kairos refuses, a DAG that differs
//! from one reading to the next, and a Python that has Airflow installed each
//! get an error naming what and where.

use std::path::Path;

use kairos_testkit::cli::{Cli, text, write_file};

const TUTORIAL: &str = r#"from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def pull(**context):
    return context["ti"].xcom_pull(task_ids="print_date")


with DAG(
    "tutorial",
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    schedule=timedelta(days=1),
    start_date=datetime(2021, 1, 1),
    catchup=False,
    tags=["example"],
) as dag:
    t1 = BashOperator(task_id="print_date", bash_command="date")
    t2 = BashOperator(task_id="sleep", bash_command="sleep 1", retries=3)
    t3 = BashOperator(task_id="templated", bash_command="echo {{ ds }}")
    t4 = PythonOperator(task_id="pull", python_callable=pull)
    t1 >> [t2, t3] >> t4
"#;

const TASKFLOW: &str = r#"import json
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2021, 1, 1), catchup=False)
def tutorial_taskflow_api():
    @task()
    def extract():
        return json.loads('{"1001": 301.27}')

    @task(multiple_outputs=True)
    def transform(order_data_dict: dict):
        return {"total_order_value": sum(order_data_dict.values())}

    @task()
    def load(total_order_value: float):
        print(total_order_value)

    load(transform(extract())["total_order_value"])


tutorial_taskflow_api()
"#;

fn cli() -> Cli {
    Cli::new(Path::new(env!("CARGO_BIN_EXE_kairos")))
}

#[test]
fn airflow_2_and_3_dag_files_validate_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(dir.path(), "tutorial.py", TUTORIAL);
    write_file(dir.path(), "taskflow.py", TASKFLOW);
    // A helper module beside them is no DAG file.
    write_file(
        dir.path(),
        "helpers.py",
        "def double(x):\n    return 2 * x\n",
    );
    let folder = dir.path().display().to_string();
    let out = cli().run(&["dags", "validate", &folder]);
    assert!(out.status.success(), "{}", text(&out));
    let report = cli().json(&["dags", "validate", &folder]);
    let dags: Vec<String> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| f["dags"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect();
    assert_eq!(dags, ["tutorial_taskflow_api", "tutorial"], "{report}");
}

/// Writes `content` as `name` in `dir` and validates it, which must fail; the
/// CLI's output.
fn refused(dir: &Path, name: &str, content: &str) -> String {
    write_file(dir, name, content);
    let out = cli().run(&["dags", "validate", &dir.join(name).display().to_string()]);
    let all = text(&out);
    assert!(!out.status.success(), "{name} was accepted: {all}");
    all
}

#[test]
fn unsupported_imports_refused_tasks_and_real_airflow_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = refused(
        dir.path(),
        "s3.py",
        "from airflow import DAG\nfrom airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator\n",
    );
    assert!(
        all.contains("s3.py:2:1")
            && all.contains("Kairos does not provide `airflow.providers.amazon"),
        "{all}"
    );

    // A Kairos check, at the line of the task that fails it.
    let all = refused(
        dir.path(),
        "bad.py",
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\nwith DAG('bad', schedule=None):\n    BashOperator(task_id='ok', bash_command='true')\n    BashOperator(task_id='no_command')\n",
    );
    assert!(
        all.contains("bad.py:6:1") && all.contains("bash_command"),
        "{all}"
    );

    // A DAG that changes from one reading to the next is reported at its task.
    let all = refused(
        dir.path(),
        "clock.py",
        "import time\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\nwith DAG('clock', schedule=None):\n    BashOperator(task_id='t', bash_command='echo %d' % time.time_ns())\n",
    );
    assert!(
        all.contains("clock.py:6:1")
            && all.contains("different DAG each time")
            && all.contains("task `t`"),
        "{all}"
    );

    // Reading a file is bounded in memory.
    let all = refused(
        dir.path(),
        "hungry.py",
        "from airflow import DAG\nblob = bytearray(4 * 1024 ** 3)\n",
    );
    assert!(
        all.contains("hungry.py:2:1") && all.contains("more than 2048 MiB"),
        "{all}"
    );

    // With Airflow installed in that Python, Kairos says so and reads nothing.
    let fake = tempfile::tempdir().expect("tempdir");
    write_file(fake.path(), "airflow/__init__.py", "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kairos"))
        .args([
            "dags",
            "validate",
            &dir.path().join("bad.py").display().to_string(),
        ])
        .env("PYTHONPATH", fake.path())
        .output()
        .expect("kairos runs");
    let all = text(&out);
    assert!(!out.status.success());
    assert!(all.contains("has Airflow installed"), "{all}");
}

/// An Airflow 2 style file of classic operators runs through `kairos dags
/// test` (an in-process cluster and worker) and `dags show` draws it.
#[test]
fn a_classic_python_dag_runs_through_dags_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(
        dir.path(),
        "classic.py",
        r#"from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG("classic", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("work") as work:
        a = BashOperator(task_id="a", bash_command="echo day {{ ds }}")
        b = BashOperator(task_id="b", bash_command="echo after a")
        a >> b
    end = BashOperator(task_id="end", bash_command="echo done")
    start >> work >> end
"#,
    );
    let file = dir.path().join("classic.py").display().to_string();
    let out = cli().run(&["dags", "show", &file]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("work.a") && shown.contains("work.b"),
        "{shown}"
    );
    let out = cli().run(&["dags", "test", &file, "--logical-date", "2026-03-04"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for line in [
        "--- work.a: success",
        "day 2026-03-04",
        "--- end: success",
        "run: success",
    ] {
        assert!(all.contains(line), "{line:?} not in:\n{all}");
    }
    let a = all.find("--- work.a").expect("a ran");
    let b = all.find("--- work.b").expect("b ran");
    let end = all.find("--- end").expect("end ran");
    assert!(a < b && b < end, "in dependency order:\n{all}");
}

/// The same DAG written in YAML and in Python loads to the same model (all but
/// `fileloc` and the file each version keeps, which is why their version
/// hashes differ), and both run: group dependencies resolve to the group's
/// roots and leaves in both.
#[test]
fn the_same_dag_in_yaml_and_in_python_is_the_same_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(
        dir.path(),
        "same.py",
        r#"from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG(
    "same",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    tags=["x"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("work") as work:
        a = BashOperator(task_id="a", bash_command="echo day {{ ds }}")
        b = BashOperator(task_id="b", bash_command="echo after a", retries=0)
        a >> b
    end = BashOperator(task_id="end", bash_command="echo done")
    start >> work >> end
"#,
    );
    write_file(
        dir.path(),
        "same.yml",
        r#"same:
  start_date: 2024-01-01
  schedule: '@daily'
  catchup: false
  tags: [x]
  default_args: {retries: 2, retry_delay: 60}
  task_groups:
    work: {dependencies: [start]}
  tasks:
    start: {operator: airflow.providers.standard.operators.empty.EmptyOperator}
    a: {operator: airflow.providers.standard.operators.bash.BashOperator, bash_command: "echo day {{ ds }}", task_group_name: work}
    b: {operator: airflow.providers.standard.operators.bash.BashOperator, bash_command: echo after a, retries: 0, task_group_name: work, dependencies: [a]}
    end: {operator: airflow.providers.standard.operators.bash.BashOperator, bash_command: echo done, dependencies: [work]}
"#,
    );
    let model = |file: &str| {
        let shown = cli().json(&["dags", "show", &dir.path().join(file).display().to_string()]);
        let mut dag = shown[0]["dag"].clone();
        dag["fileloc"] = serde_json::Value::Null;
        dag
    };
    assert_eq!(model("same.py"), model("same.yml"));
    // Both run, the same way.
    for file in ["same.py", "same.yml"] {
        let path = dir.path().join(file).display().to_string();
        let out = cli().run(&["dags", "test", &path, "--logical-date", "2026-03-04"]);
        let all = text(&out);
        assert!(out.status.success(), "{file}: {all}");
        assert!(
            all.contains("day 2026-03-04") && all.contains("--- end: success"),
            "{file}: {all}"
        );
    }
}

/// A bundle's Python DAG files are read in the bundle's execution environment
/// when this machine has it (`KAIROS_ENVS`, as workers declare theirs), before
/// anything is sent.
#[test]
fn a_bundles_files_are_read_in_its_environment_when_present() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle");
    write_file(
        &bundle,
        "kairos-bundle.toml",
        "name = \"ml\"\nenvironment = \"ml\"\n",
    );
    write_file(
        &bundle,
        "flow.py",
        "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\nwith DAG(\"flow\", schedule=None, start_date=datetime(2024, 1, 1)):\n    EmptyOperator(task_id=\"start\")\n",
    );
    let marker = dir.path().join("used");
    let fake = dir.path().join("ml-python");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec python3 \"$@\"\n",
            marker.display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // No server listens on port 1: the push fails after the local reading.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kairos"))
        .args([
            "dags",
            "push",
            &bundle.display().to_string(),
            "--server",
            "127.0.0.1:1",
        ])
        .env(
            "KAIROS_ENVS",
            format!("python3=/usr/bin/false,ml={}", fake.display()),
        )
        .env_remove("KAIROS_PYTHON")
        .output()
        .expect("kairos runs");
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("is not valid"), "the file was read: {all}");
    let used = std::fs::read_to_string(&marker).expect("the ml environment read the file");
    assert_eq!(used.matches("kairos_airflow._collect").count(), 2, "{used}");
}

/// A folder's Python files are read in one Python process: a file that ends
/// that process (os._exit) gets its own error, and the files after it are
/// still read.
#[test]
fn a_file_that_ends_the_reading_python_is_named_and_the_rest_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dag = |id: &str| {
        format!(
            "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\nwith DAG(\"{id}\", schedule=None, start_date=datetime(2024, 1, 1)):\n    EmptyOperator(task_id=\"start\")\n"
        )
    };
    write_file(dir.path(), "a.py", &dag("a"));
    write_file(
        dir.path(),
        "b.py",
        &format!("import os\n{}os._exit(3)\n", dag("b")),
    );
    write_file(dir.path(), "c.py", &dag("c"));
    let folder = dir.path().display().to_string();
    let out = cli().run(&["dags", "validate", &folder]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("a.py: a") && all.contains("c.py: c"), "{all}");
    assert!(
        all.contains("b.py: error: the Python reading it ended while reading this file"),
        "{all}"
    );
    assert!(all.contains("2 valid DAG(s), 1 error(s)"), "{all}");
}

/// The other names Airflow DAG files commonly import load as their YAML forms
/// would: `TriggerRule`, `Param` (its default), `Label` on an edge, the
/// sensors and operators Kairos runs; an Airflow module or name Kairos lacks is
/// named as the file imported it.
#[test]
fn common_airflow_names_load_and_missing_ones_are_named_as_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(
        dir.path(),
        "names.py",
        r#"from datetime import datetime, timedelta

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.bash import BashOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.time_delta import TimeDeltaSensor
from airflow.utils.edgemodifier import Label
from airflow.utils.trigger_rule import TriggerRule

with DAG("names", schedule=None, start_date=datetime(2024, 1, 1),
         params={"rows": Param(10, type="integer", minimum=1)}):
    wait = TimeDeltaSensor(task_id="wait", delta=timedelta(seconds=1))
    load = BashOperator(task_id="load", bash_command="echo {{ params.rows }}")
    cleanup = BashOperator(task_id="cleanup", bash_command="echo bye",
                           trigger_rule=TriggerRule.ALL_DONE)
    wait >> Label("after a second") >> load >> cleanup
    cleanup >> TriggerDagRunOperator(task_id="next", trigger_dag_id="other")
"#,
    );
    let file = dir.path().join("names.py").display().to_string();
    let shown = cli().json(&["dags", "show", &file]);
    let text = shown.to_string();
    assert!(text.contains("all_done"), "{text}");
    assert!(text.contains("\"rows\":10"), "{text}");
    assert_eq!(
        shown[0]["edges"],
        serde_json::json!([["wait", "load"], ["load", "cleanup"], ["cleanup", "next"]]),
        "{text}"
    );
    let all = refused(
        dir.path(),
        "k8s.py",
        "from airflow import DAG\nfrom airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n",
    );
    assert!(
        all.contains("k8s.py:2:1: error: Kairos does not provide `airflow.providers.cncf.kubernetes.operators.pod`"),
        "{all}"
    );
    let all = refused(
        dir.path(),
        "dagrun.py",
        "from airflow import DAG\nfrom airflow.models import DagRun\n",
    );
    assert!(
        all.contains("Kairos does not provide `DagRun` of `airflow.models`")
            && !all.contains("kairos_airflow"),
        "{all}"
    );
}
