//! `kairos dags test FILE [DAG]`: one DAG run here and now, like `airflow dags
//! test`. A throwaway one-node cluster and a worker run in this process, with their
//! data in a temporary folder removed at the end; schedules create no runs there,
//! so the one run triggered is the only one. Each task's log is printed when the
//! task finishes, and the exit code says whether the run succeeded.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kairos_dag::load::{LoadOptions, load_file};
use serde_json::{Value, json};

use super::test_args::DagTestArgs;
use super::upload::prepare;
use crate::commands::api_client::{Api, urlencode};
use crate::commands::args::{parse_conf, parse_date};
use crate::commands::connect::fail;
use crate::commands::output::Output;
use crate::table;

const FINISHED: [&str; 5] = ["success", "failed", "skipped", "upstream_failed", "removed"];

pub fn test(args: &DagTestArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(e),
    }
}

/// The DAG to run: the one named, or the file's only one.
fn choose_dag(args: &DagTestArgs, opts: &LoadOptions) -> Result<String, String> {
    let loaded = load_file(&args.file, opts);
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

fn run(args: &DagTestArgs) -> Result<bool, String> {
    let opts = LoadOptions {
        bundle: kairos_dag::model::defaults::BUNDLE.to_string(),
        team: None,
    };
    let dag_id = choose_dag(args, &opts)?;
    let upload = prepare(&args.file, &opts)?;
    let logical_date = match &args.logical_date {
        Some(text) => parse_date("--logical-date", text)?,
        None => chrono::Utc::now(),
    };
    let conf = parse_conf(args.conf.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("kairos-dags-test-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let (grpc, http) = loopback_addrs()?;
    let (mut server, worker) = crate::commands::dev::local_stack(dir.path(), &grpc, &http, 4)?;
    server.scheduler.create_scheduled_runs = false;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let output = args.output;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    runtime.block_on(async move {
        let serving = tokio::spawn(kairos_server::server::run(server));
        let working = tokio::spawn(kairos_worker::run(worker));
        let api = Api::to(&http, None)?;
        wait_for_leader(&api).await?;
        api.push(&upload, None).await?;
        let dag_path = format!("/dags/{}", urlencode(&dag_id));
        api.json(
            reqwest::Method::PATCH,
            &dag_path,
            Some(json!({"is_paused": false})),
        )
        .await?;
        let run_id = format!(
            "test__{}",
            kairos_dag::lifecycle::python_isoformat(logical_date)
        );
        api.json(
            reqwest::Method::POST,
            &format!("{dag_path}/dagRuns"),
            Some(json!({"dag_run_id": run_id, "logical_date": logical_date, "conf": conf})),
        )
        .await?;
        if output == Output::Text {
            println!("testing {dag_id} run {run_id} in a one-node cluster of this process");
        }
        let result = follow(&api, &dag_id, &run_id, output, deadline).await;
        serving.abort();
        working.abort();
        result
    })
}

async fn wait_for_leader(api: &Api) -> Result<(), String> {
    for _ in 0..200 {
        if let Ok(health) = api.health().await {
            if health["role"] == "leader" {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the in-process node did not become leader within 10 s".into())
}

/// Prints each task's log as it finishes, then a summary; whether the run succeeded.
async fn follow(
    api: &Api,
    dag_id: &str,
    run_id: &str,
    output: Output,
    deadline: Instant,
) -> Result<bool, String> {
    let run_path = format!("/dags/{}/dagRuns/{}", urlencode(dag_id), urlencode(run_id));
    let mut printed: BTreeSet<(String, i64)> = BTreeSet::new();
    loop {
        let tis = api
            .all_pages(&format!("{run_path}/taskInstances"), "task_instances")
            .await?;
        // In the order they finished, as a run's log would read.
        let mut by_end: Vec<&Value> = tis.iter().collect();
        by_end.sort_by_key(|t| t["end_date"].as_str().unwrap_or("").to_string());
        for ti in by_end {
            let state = ti["state"].as_str().unwrap_or("");
            let key = (
                ti["task_id"].as_str().unwrap_or("").to_string(),
                ti["map_index"].as_i64().unwrap_or(-1),
            );
            if !FINISHED.contains(&state) || printed.contains(&key) {
                continue;
            }
            if output == Output::Text {
                print_task_log(api, &run_path, ti).await;
            }
            printed.insert(key);
        }
        let run = api.json(reqwest::Method::GET, &run_path, None).await?;
        let state = run["state"].as_str().unwrap_or("");
        if matches!(state, "success" | "failed") && printed.len() >= tis.len() {
            summary(api, dag_id, &run, &tis, output).await;
            return Ok(state == "success");
        }
        if Instant::now() > deadline {
            summary(api, dag_id, &run, &tis, output).await;
            return Err(format!(
                "the run is still {state} after --timeout-secs; the tasks above are where it stands"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn print_task_log(api: &Api, run_path: &str, ti: &Value) {
    let task_id = ti["task_id"].as_str().unwrap_or("");
    let map_index = ti["map_index"].as_i64().unwrap_or(-1);
    let try_number = ti["try_number"].as_u64().unwrap_or(0);
    let label = if map_index >= 0 {
        format!("{task_id}[{map_index}]")
    } else {
        task_id.to_string()
    };
    println!(
        "--- {label}: {} (try {try_number})",
        ti["state"].as_str().unwrap_or("?")
    );
    if try_number == 0 {
        return;
    }
    let url = format!(
        "{run_path}/taskInstances/{}/logs/{try_number}?map_index={map_index}",
        urlencode(task_id)
    );
    match api.call(reqwest::Method::GET, &url, None).await {
        Ok((_, text)) => print!("{text}"),
        Err(e) => println!("(no log: {e})"),
    }
}

/// The run's task instances; with `--output json` also every run the throwaway
/// cluster holds (the one triggered, since schedules make none).
async fn summary(api: &Api, dag_id: &str, run: &Value, tis: &[Value], output: Output) {
    if output == Output::Json {
        let runs = api
            .all_pages(&format!("/dags/{}/dagRuns", urlencode(dag_id)), "dag_runs")
            .await
            .unwrap_or_default();
        let ids: Vec<&Value> = runs.iter().map(|r| &r["dag_run_id"]).collect();
        println!(
            "{}",
            json!({"run": run, "task_instances": tis, "runs_in_cluster": ids})
        );
        return;
    }
    let rows: Vec<Vec<String>> = tis
        .iter()
        .map(|t| {
            vec![
                t["task_id"].as_str().unwrap_or("").to_string(),
                match t["map_index"].as_i64() {
                    Some(i) if i >= 0 => i.to_string(),
                    _ => String::new(),
                },
                t["state"].as_str().unwrap_or("none").to_string(),
                t["try_number"].to_string(),
            ]
        })
        .collect();
    print!("{}", table::render(&["TASK", "MAP", "STATE", "TRY"], &rows));
    println!("run: {}", run["state"].as_str().unwrap_or("?"));
}
