//! Two teams, two bundles, two execution environments on one cluster of three
//! servers and two workers, all real processes; the bundles are pushed with
//! the CLI and each team's token.
//!
//! - team `alpha`'s bundle runs `python_callable: alpha_pkg.calc.double` from its
//!   own package, in environment `py-a`, on the worker that has `py-a` and serves
//!   `alpha`;
//! - team `beta`'s bundle runs a custom operator class from its own package,
//!   whose template field is rendered and which imports a package its manifest
//!   installs from a wheel inside the bundle (built by this test), layered on
//!   `py-b` by the worker that has `py-b` and serves `beta`;
//! - `alpha`'s token cannot read `beta`'s DAG, runs, XComs, logs or bundle (404),
//!   nor push a bundle over `beta`'s.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::Duration;

use kairos_dag::lifecycle::DagRunState;
use kairos_state::Query;
use kairos_state::records::XComRecord;
use kairos_testkit::{CALM_TIMINGS, Cluster};
use reqwest::StatusCode;
use serde_json::Value;

use super::environments::{make_wheel, venv};
use crate::support::*;

const API_TOKENS: &str = "alpha:operator tok-alpha\nbeta:operator tok-beta\n";

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let at = root.join(path);
    std::fs::create_dir_all(at.parent().expect("a parent")).expect("mkdir");
    std::fs::write(at, bytes).expect("write");
}

fn kairos(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .env_remove("KAIROS_SERVER")
        .env_remove("KAIROS_TOKEN")
        .output()
        .expect("kairos runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn return_value(cluster: &Cluster, dag: &str, run: &str, task: &str) -> Value {
    let xcoms: Vec<XComRecord> = query(
        cluster,
        Query::XComs {
            dag_id: dag.into(),
            run_id: run.into(),
            task_id: Some(task.into()),
        },
    )
    .await;
    xcoms
        .into_iter()
        .find(|x| x.key == "return_value")
        .map(|x| x.value)
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_team_runs_its_own_bundle_in_its_own_environment() {
    let _one = one_at_a_time();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let venv_a = venv(dir, "venv-a");
    let venv_b = venv(dir, "venv-b");
    let wheel = make_wheel(dir, "kairos_extra", "1.0", "VALUE = 42\n");

    // Team alpha: a package with a function.
    let alpha = dir.join("alpha");
    write(
        &alpha,
        "kairos-bundle.toml",
        b"name = \"alpha\"\nteam = \"alpha\"\nenvironment = \"py-a\"\n",
    );
    write(&alpha, "alpha_pkg/__init__.py", b"");
    write(
        &alpha,
        "alpha_pkg/calc.py",
        b"import sys\n\ndef double(x):\n    return {'value': x * 2, 'prefix': sys.prefix}\n",
    );
    write(
        &alpha,
        "dags/alpha.yml",
        b"alpha_dag:\n  schedule: null\n  is_paused_upon_creation: false\n  tasks:\n    calc:\n      operator: airflow.operators.python.PythonOperator\n      python_callable: alpha_pkg.calc.double\n      op_kwargs: {x: 21}\n",
    );
    // Team beta: a custom operator that needs a package the bundle installs.
    let beta = dir.join("beta");
    write(
        &beta,
        "kairos-bundle.toml",
        b"name = \"beta\"\nteam = \"beta\"\nenvironment = \"py-b\"\nrequirements = \"requirements.lock\"\nwheels = \"wheels/\"\n",
    );
    write(&beta, "requirements.lock", b"kairos_extra==1.0\n");
    write(
        &beta,
        &format!("wheels/{}", wheel.file_name().unwrap().to_string_lossy()),
        &std::fs::read(&wheel).expect("the wheel"),
    );
    write(&beta, "beta_pkg/__init__.py", b"");
    write(
        &beta,
        "beta_pkg/ops.py",
        b"import sys\nfrom airflow.models import BaseOperator\n\n\nclass ExtraOperator(BaseOperator):\n    template_fields = ('label',)\n\n    def __init__(self, label, **kwargs):\n        super().__init__(**kwargs)\n        self.label = label\n\n    def execute(self, context):\n        import kairos_extra\n        context['ti'].xcom_push(key='seen', value=self.label)\n        return {'label': self.label, 'value': kairos_extra.VALUE, 'prefix': sys.prefix}\n",
    );
    write(
        &beta,
        "dags/beta.yml",
        b"beta_dag:\n  schedule: null\n  is_paused_upon_creation: false\n  params: {who: beta-team}\n  tasks:\n    extra:\n      operator: beta_pkg.ops.ExtraOperator\n      label: 'for {{ params.who }}'\n",
    );

    let api_tokens = dir.join("api-tokens");
    std::fs::write(&api_tokens, API_TOKENS).expect("api tokens");
    let worker_tokens = dir.join("worker-tokens");
    std::fs::write(&worker_tokens, format!("{TOKEN}\n")).expect("worker tokens");
    let (api_tokens, worker_tokens) = (
        api_tokens.display().to_string(),
        worker_tokens.display().to_string(),
    );
    let mut flags: Vec<&str> = CALM_TIMINGS.to_vec();
    flags.extend([
        "--api-token-file",
        &api_tokens,
        "--worker-token-file",
        &worker_tokens,
    ]);
    let cluster =
        Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &flags).expect("three servers");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let env_a = format!("py-a={}", venv_a.display());
    let env_b = format!("py-b={}", venv_b.display());
    let wa = Worker::start_with(
        &cluster,
        dir,
        "wa",
        TOKEN,
        &["--environment", &env_a, "--teams", "alpha"],
        &[],
    );
    let wb = Worker::start_with(
        &cluster,
        dir,
        "wb",
        TOKEN,
        &["--environment", &env_b, "--teams", "beta"],
        &[],
    );
    let logs = || {
        format!(
            "{}\n--- wa\n{}\n--- wb\n{}",
            cluster.logs(),
            wa.log(),
            wb.log()
        )
    };

    let server = format!("http://{}", cluster.node(1).http);
    for (folder, token) in [(&alpha, "tok-alpha"), (&beta, "tok-beta")] {
        let out = kairos(&[
            "dags",
            "push",
            &folder.display().to_string(),
            "--server",
            &server,
            "--token",
            token,
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("new version 1"), "{}", text(&out));
    }
    for (dag, token) in [("alpha_dag", "tok-alpha"), ("beta_dag", "tok-beta")] {
        let out = kairos(&[
            "dags", "trigger", dag, "--run-id", "r1", "--server", &server, "--token", token,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    for dag in ["alpha_dag", "beta_dag"] {
        let state = wait_run(&cluster, dag, "r1", Duration::from_secs(120), &logs).await;
        assert_eq!(state, DagRunState::Success, "{dag}\n{}", logs());
    }

    let calc = return_value(&cluster, "alpha_dag", "r1", "calc").await;
    assert_eq!(calc["value"], 42, "{calc}");
    assert_eq!(
        calc["prefix"].as_str(),
        Some(venv_a.to_str().unwrap()),
        "{calc}"
    );
    let extra = return_value(&cluster, "beta_dag", "r1", "extra").await;
    assert_eq!(extra["label"], "for beta-team", "{extra}");
    assert_eq!(extra["value"], 42, "{extra}");
    let prefix = extra["prefix"].as_str().unwrap_or_default();
    assert!(
        prefix.contains("layered-envs") && prefix != venv_b.to_str().unwrap(),
        "beta's task ran outside its layered environment: {extra}"
    );
    let ran_on = |dag: &str, task: &str| {
        let cluster = &cluster;
        let (dag, task) = (dag.to_string(), task.to_string());
        async move {
            tis(cluster, &dag, "r1")
                .await
                .into_iter()
                .find(|t| t.task_id == task)
                .and_then(|t| t.worker)
        }
    };
    assert_eq!(ran_on("alpha_dag", "calc").await.as_deref(), Some("wa"));
    assert_eq!(ran_on("beta_dag", "extra").await.as_deref(), Some("wb"));

    // alpha reaches nothing of beta.
    let http = reqwest::Client::new();
    let base = format!("{server}/api/v1");
    for path in [
        "/dags/beta_dag",
        "/dags/beta_dag/dagRuns/r1",
        "/dags/beta_dag/dagRuns/r1/taskInstances/extra/xcomEntries",
        "/dags/beta_dag/dagRuns/r1/taskInstances/extra/logs/1",
        "/dags/beta_dag/versions/1",
        "/bundles/beta",
        "/bundles/beta/versions/1",
    ] {
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth("tok-alpha")
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path} as alpha");
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth("tok-beta")
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status(), StatusCode::OK, "{path} as beta");
    }
    // A bundle of alpha's named `beta` cannot replace beta's.
    write(
        &alpha,
        "kairos-bundle.toml",
        b"name = \"beta\"\nteam = \"alpha\"\nenvironment = \"py-a\"\n",
    );
    write(
        &alpha,
        "dags/alpha.yml",
        b"alpha_two:\n  schedule: null\n  tasks:\n    t: {operator: empty}\n",
    );
    let out = kairos(&[
        "dags",
        "push",
        &alpha.display().to_string(),
        "--server",
        &server,
        "--token",
        "tok-alpha",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bundle `beta` belongs to team `beta`"),
        "{}",
        text(&out)
    );
}
