//! `kairos dags test FILE [DAG]`: one DAG run here and now, like `airflow dags
//! test`. A throwaway one-node cluster and a worker run in this process, with their
//! data in a temporary folder removed at the end; schedules create no runs there,
//! so the one run triggered is the only one. Each task's log is printed when the
//! task finishes, and the exit code says whether the run succeeded.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use kairos_client::api::{DagRun, TaskInstance, TriggerRun};
use kairos_client::{Client, Read};
use kairos_dag::load::LoadOptions;
use serde_json::json;

use super::upload::prepare;
use crate::commands::args::{parse_conf, parse_date};
use crate::commands::connect::{Failure, fail};
use crate::commands::dev::local_stack;
use crate::commands::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct DagTestArgs {
    /// The DAG file.
    pub file: PathBuf,
    /// The DAG to run (may be left out when the file has one DAG).
    pub dag_id: Option<String>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// How a throwaway run is made and followed (`dags test`, `tasks test`).
#[derive(Args, Debug)]
pub struct RunOptions {
    /// The run's logical date (RFC 3339 or a date; default now).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

const FINISHED: [&str; 5] = ["success", "failed", "skipped", "upstream_failed", "removed"];

pub fn test(args: &DagTestArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(e),
    }
}

/// The DAG to run: the one named, or the file's only one.
fn choose_dag(args: &DagTestArgs, loaded: &kairos_dag::load::LoadedFile) -> Result<String, String> {
    if loaded.has_errors() {
        for message in loaded.error_messages() {
            eprintln!("{message}");
        }
        return Err(format!("{} is not valid", args.file.display()));
    }
    let ids: Vec<String> = loaded.dags.iter().map(|v| v.dag.dag_id.clone()).collect();
    match (&args.dag_id, ids.as_slice()) {
        (Some(id), _) if ids.contains(id) => Ok(id.clone()),
        (Some(id), _) => Err(format!(
            "{} has no DAG `{id}`; it has {}",
            args.file.display(),
            ids.join(", ")
        )),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(format!(
            "{} has {} DAGs ({}); name the one to test",
            args.file.display(),
            ids.len(),
            ids.join(", ")
        )),
    }
}

/// Two distinct free addresses on 127.0.0.1 for the in-process node (gRPC, HTTP).
/// Both listeners are held at once, so the OS cannot give the same port twice;
/// they are closed again just before the node binds them.
fn loopback_addrs() -> Result<(String, String), String> {
    let bind = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr().map(|a| (l, a)))
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
    };
    let (_grpc_listener, grpc) = bind()?;
    let (_http_listener, http) = bind()?;
    Ok((grpc.to_string(), http.to_string()))
}

fn run(args: &DagTestArgs) -> Result<bool, Failure> {
    let opts = LoadOptions {
        bundle: kairos_dag::model::defaults::BUNDLE.to_string(),
        team: None,
        environment: None,
        root: super::upload::config_root(),
    };
    let loaded = super::python_files::load_dag_file(&args.file, &opts);
    let dag_id = choose_dag(args, &loaded)?;
    // A Python file was read here; the throwaway cluster gets its DAG as read
    // (YAML files go up as `dags push` sends them).
    let push = if args.file.extension().is_some_and(|e| e == "py") {
        let content = loaded
            .dags
            .into_iter()
            .find(|v| v.dag.dag_id == dag_id)
            .ok_or_else(|| format!("no DAG `{dag_id}`"))?;
        ThrowawayPush::Version(Box::new(kairos_state::Command::PutDagVersion {
            content,
            files: loaded.contents,
        }))
    } else {
        ThrowawayPush::Upload(Box::new(prepare(&args.file, &opts)?))
    };
    run_throwaway(Throwaway {
        dag_id,
        push,
        options: &args.run,
    })
}

/// One run in a throwaway one-node cluster of this process: what it pushes
/// and how it is triggered (`kairos dags test`, `kairos tasks test`).
pub(crate) struct Throwaway<'a> {
    pub dag_id: String,
    pub push: ThrowawayPush,
    pub options: &'a RunOptions,
}

/// How the DAG gets into the throwaway cluster.
pub(crate) enum ThrowawayPush {
    /// A DAG file, through the REST API as `kairos dags push` sends it.
    Upload(Box<super::upload::Upload>),
    /// A version built here (`tasks test`'s one-task DAG), proposed directly.
    Version(Box<kairos_state::Command>),
}

/// Runs `t`; whether the run succeeded.
pub(crate) fn run_throwaway(t: Throwaway<'_>) -> Result<bool, Failure> {
    let logical_date = match &t.options.logical_date {
        Some(text) => parse_date("--logical-date", text)?,
        None => chrono::Utc::now(),
    };
    let conf = parse_conf(t.options.conf.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("kairos-dags-test-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let (grpc, http) = loopback_addrs()?;
    let (mut server, worker) = local_stack(dir.path(), &grpc, &http, 4)?;
    server.scheduler.create_scheduled_runs = false;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (output, dag_id) = (t.options.output, t.dag_id);
    let deadline = Instant::now() + Duration::from_secs(t.options.timeout_secs);
    runtime.block_on(async move {
        let serving = tokio::spawn(kairos_server::server::run(server));
        let working = tokio::spawn(kairos_worker::run(worker));
        let api = Client::new(&http)?;
        wait_for_leader(&api).await?;
        match t.push {
            ThrowawayPush::Upload(upload) => {
                upload.push(&api, None).await?;
            }
            ThrowawayPush::Version(command) => {
                kairos_server::client::ClusterClient::new(vec![grpc.clone()])
                    .propose(&[*command])
                    .await
                    .map_err(|e| format!("cannot push the DAG to the throwaway cluster: {e}"))?;
            }
        }
        api.set_paused(&dag_id, false).await?;
        let run_id = format!(
            "test__{}",
            kairos_dag::lifecycle::python_isoformat(logical_date)
        );
        let run = TriggerRun {
            dag_run_id: Some(run_id.clone()),
            logical_date: Some(logical_date),
            conf,
            ..TriggerRun::default()
        };
        api.trigger(&dag_id, &run).await?;
        if output == Output::Text {
            println!("testing {dag_id} run {run_id} in a one-node cluster of this process");
        }
        let result = follow(&api, &dag_id, &run_id, output, deadline).await;
        serving.abort();
        working.abort();
        result
    })
}

async fn wait_for_leader(api: &Client) -> Result<(), Failure> {
    for _ in 0..200 {
        if api.health().await.is_ok_and(|h| h.role == "leader") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the in-process node did not become leader within 10 s".into())
}

/// Prints each task's log as it finishes, then a summary; whether the run succeeded.
async fn follow(
    api: &Client,
    dag_id: &str,
    run_id: &str,
    output: Output,
    deadline: Instant,
) -> Result<bool, Failure> {
    let mut printed: BTreeSet<(String, i32)> = BTreeSet::new();
    loop {
        let tis = api.task_instances(dag_id, run_id, Read::Local).await?;
        // In the order they finished, as a run's log would read.
        let mut by_end: Vec<&TaskInstance> = tis.iter().collect();
        by_end.sort_by_key(|t| t.end_date);
        for ti in by_end {
            let key = (ti.task_id.clone(), ti.map_index);
            if !FINISHED.contains(&ti.state.as_str()) || printed.contains(&key) {
                continue;
            }
            if output == Output::Text {
                print_task_log(api, ti).await;
            }
            printed.insert(key);
        }
        let run = api.dag_run(dag_id, run_id, Read::Local).await?;
        if matches!(run.state.as_str(), "success" | "failed") && printed.len() >= tis.len() {
            summary(api, dag_id, &run, &tis, output).await?;
            return Ok(run.state == "success");
        }
        if Instant::now() > deadline {
            summary(api, dag_id, &run, &tis, output).await?;
            return Err(format!(
                "the run is still {} after --timeout-secs; the tasks above are where it stands",
                run.state
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn print_task_log(api: &Client, ti: &TaskInstance) {
    let label = if ti.map_index >= 0 {
        format!("{}[{}]", ti.task_id, ti.map_index)
    } else {
        ti.task_id.clone()
    };
    println!("--- {label}: {} (try {})", ti.state, ti.try_number);
    if ti.try_number == 0 {
        return;
    }
    let log = api
        .log(
            &ti.dag_id,
            &ti.dag_run_id,
            &ti.task_id,
            ti.try_number,
            ti.map_index,
            0,
        )
        .await;
    match log {
        Ok(chunk) => print!("{}", chunk.text),
        Err(e) => println!("(no log: {e})"),
    }
}

/// The run's task instances; with `--output json` also every run the throwaway
/// cluster holds (the one triggered, since schedules make none).
async fn summary(
    api: &Client,
    dag_id: &str,
    run: &DagRun,
    tis: &[TaskInstance],
    output: Output,
) -> Result<(), Failure> {
    if output == Output::Json {
        let runs = api.dag_runs(dag_id, Read::Local).await?;
        let ids: Vec<&str> = runs.iter().map(|r| r.dag_run_id.as_str()).collect();
        print_json(&json!({"run": run, "task_instances": tis, "runs_in_cluster": ids}))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tis
        .iter()
        .map(|t| {
            vec![
                t.task_id.clone(),
                if t.map_index >= 0 {
                    t.map_index.to_string()
                } else {
                    String::new()
                },
                t.state.clone(),
                t.try_number.to_string(),
            ]
        })
        .collect();
    print!("{}", table::render(&["TASK", "MAP", "STATE", "TRY"], &rows));
    println!("run: {}", run.state);
    Ok(())
}
