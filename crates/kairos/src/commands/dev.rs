//! `kairos dev`: one process, no setup. A single-node cluster with its data under
//! `./.kairos/`, the scheduler, the REST API on 127.0.0.1:8080 and a local worker;
//! it watches the DAG folder and pushes every change as a new version. The API is
//! open (no tokens) and bound to 127.0.0.1, and it says so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use kairos_dag::load::LoadOptions;
use kairos_server::config::ConfigLayer;
use kairos_worker::WorkerLayer;
use serde_json::json;

use super::remote::{Api, describe_push, prepare};
use crate::cli::DevArgs;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn run(args: &DevArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kairos_worker=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = ConfigLayer {
        node_id: Some(1),
        data_dir: Some(args.data_dir.join("server")),
        grpc_addr: Some(args.grpc_addr.clone()),
        http_addr: Some(args.http_addr.clone()),
        peers: Some(format!("1={}", args.grpc_addr)),
        // One node: nobody to wait for, so short timings.
        heartbeat_ms: Some(50),
        election_timeout_ms: Some("150-300".into()),
        ..ConfigLayer::default()
    }
    .resolve();
    let server = match server {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let worker = WorkerLayer {
        servers: Some(args.grpc_addr.clone()),
        worker_id: Some("dev".into()),
        data_dir: Some(args.data_dir.join("worker")),
        http_addr: Some("127.0.0.1:0".into()),
        slots: Some(args.slots),
        ..WorkerLayer::default()
    }
    .resolve();
    let worker = match worker {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    println!(
        "kairos dev: API on http://{} (open: no tokens, local use only), DAGs from {}, data in {}",
        args.http_addr,
        args.dags.display(),
        args.data_dir.display()
    );
    let dags = args.dags.clone();
    let http = args.http_addr.clone();
    runtime.block_on(async move {
        let serving = tokio::spawn(kairos_server::server::run(server));
        tokio::spawn(async move {
            if let Err(e) = kairos_worker::run(worker).await {
                eprintln!("the local worker stopped: {e}");
            }
        });
        tokio::spawn(watch(http, dags));
        match serving.await {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => fail(e),
            Err(e) => fail(e),
        }
    })
}

/// Makes new DAGs unpaused (a dev server runs what it is given), then pushes every
/// DAG file of `dir` whose modification time changed, once a second.
async fn watch(http: String, dir: PathBuf) {
    let Ok(api) = Api::to(&http, None) else {
        return;
    };
    // Wait for the API (the node elects itself within a second).
    let mut settings = None;
    for _ in 0..100 {
        if let Ok(s) = api.health().await {
            if s["role"] == "leader" {
                settings = Some(());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if settings.is_none() {
        eprintln!("kairos dev: the API did not come up; DAGs are not watched");
        return;
    }
    let opts = LoadOptions::default();
    let mut seen: BTreeMap<PathBuf, SystemTime> = BTreeMap::new();
    loop {
        for path in super::remote::dag_files(std::slice::from_ref(&dir)) {
            let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
                continue;
            };
            if seen.get(&path) == Some(&modified) {
                continue;
            }
            seen.insert(path.clone(), modified);
            match prepare(&path, &opts) {
                Err(problems) => {
                    eprintln!("kairos dev: {} is not valid:\n{problems}", path.display())
                }
                Ok(upload) => match api.push(&upload, None).await {
                    Ok(answer) => {
                        for line in describe_push(&answer) {
                            println!("kairos dev: pushed {line}");
                        }
                        for dag in answer["dags"].as_array().into_iter().flatten() {
                            if let Some(id) = dag["dag_id"].as_str() {
                                let _ = api
                                    .json(
                                        reqwest::Method::PATCH,
                                        &format!("/dags/{id}"),
                                        Some(json!({"is_paused": false})),
                                    )
                                    .await;
                            }
                        }
                    }
                    Err(e) => eprintln!("kairos dev: {e}"),
                },
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
