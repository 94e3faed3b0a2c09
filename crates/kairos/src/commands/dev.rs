//! `kairos dev`: one process, no setup. A single-node cluster with its data under
//! `./.kairos/`, the scheduler, the REST API on 127.0.0.1:8080 and a local worker;
//! it watches the DAG folder and pushes every change as a new version. The API is
//! open (no tokens) and bound to 127.0.0.1, and it says so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use kairos_client::Client;
use kairos_server::config::{ConfigLayer, ServerConfig};
use kairos_worker::{WorkerConfig, WorkerLayer};

use super::connect::fail;
use super::dags::bundle::{describe_bundle_push, read_bundle};

#[derive(Args, Debug)]
pub struct DevArgs {
    /// The folder of DAG files to watch.
    #[arg(long, default_value = "dags")]
    pub dags: PathBuf,
    /// Where the node and the worker keep their data.
    #[arg(long, default_value = ".kairos")]
    pub data_dir: PathBuf,
    /// The REST API's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_addr: String,
    /// The node's gRPC address (the worker connects here).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub grpc_addr: String,
    /// Attempts the local worker runs at once.
    #[arg(long, default_value_t = 4)]
    pub slots: u32,
}

/// The settings of a one-node cluster and a worker in one process, with their data
/// under `data_dir`: `kairos dev`'s and `kairos dags test`'s. The API has no tokens,
/// so both addresses must be loopback ones, and requests must name a loopback host.
pub(crate) fn local_stack(
    data_dir: &std::path::Path,
    grpc_addr: &str,
    http_addr: &str,
    slots: u32,
) -> Result<(ServerConfig, WorkerConfig), String> {
    let loopback = |addr: &str| {
        addr.parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback())
    };
    if !loopback(http_addr) || !loopback(grpc_addr) {
        return Err(format!(
            "a local cluster runs without tokens and listens on loopback addresses only; \
             {http_addr} / {grpc_addr} are not (run `kairos server` with api_token_file to serve a network)"
        ));
    }
    let mut server = ConfigLayer {
        node_id: Some(1),
        data_dir: Some(data_dir.join("server")),
        grpc_addr: Some(grpc_addr.to_string()),
        http_addr: Some(http_addr.to_string()),
        peers: Some(format!("1={grpc_addr}")),
        // One node: nobody to wait for, so short timings.
        heartbeat_ms: Some(50),
        election_timeout_ms: Some("150-300".into()),
        // Loopback only (checked above): plain text, no certificates to make.
        insecure: Some(true),
        ..ConfigLayer::default()
    }
    .resolve()
    .map_err(|e| e.to_string())?;
    server.api_loopback_only = true;
    let worker = WorkerLayer {
        servers: Some(grpc_addr.to_string()),
        worker_id: Some("dev".into()),
        data_dir: Some(data_dir.join("worker")),
        http_addr: Some("127.0.0.1:0".into()),
        slots: Some(slots),
        insecure: Some(true),
        ..WorkerLayer::default()
    }
    .resolve()
    .map_err(|e| e.to_string())?;
    Ok((server, worker))
}

pub fn run(args: &DevArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kairos_worker=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (server, worker) =
        match local_stack(&args.data_dir, &args.grpc_addr, &args.http_addr, args.slots) {
            Ok(configs) => configs,
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
    let api = match Client::new(&http) {
        Ok(api) => api,
        Err(e) => {
            eprintln!("kairos dev: no client of the API ({e}); DAGs are not watched");
            return;
        }
    };
    // Wait for the API (the node elects itself within a second).
    let mut leading = false;
    for _ in 0..100 {
        if api.health().await.is_ok_and(|h| h.role == "leader") {
            leading = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !leading {
        eprintln!("kairos dev: the API did not come up; DAGs are not watched");
        return;
    }
    // The folder's files (DAG files and the scripts and callables they reference)
    // by modification time. A change is pushed once the folder has been still for a
    // second (so a file caught mid-write is not pushed), and counts as handled only
    // once every DAG file was pushed or found invalid: a failed push is retried.
    let mut handled: BTreeMap<PathBuf, SystemTime> = BTreeMap::new();
    let mut last: BTreeMap<PathBuf, SystemTime> = BTreeMap::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = snapshot(&dir);
        let still = now == last;
        last = now.clone();
        if !still || now == handled {
            continue;
        }
        // The folder is one bundle: pushed whole, a new version when anything
        // in it changed.
        let mut all_done = true;
        // Reading runs Python for .py files: off the runtime's threads.
        let reading = dir.clone();
        let read = tokio::task::spawn_blocking(move || read_bundle(&reading, None))
            .await
            .unwrap_or_else(|e| Err(format!("reading the folder stopped: {e}")));
        match read {
            Err(problems) => eprintln!("kairos dev: {} is not valid:\n{problems}", dir.display()),
            Ok(bundle) => match bundle.push(&api).await {
                Ok(pushed) => {
                    for line in describe_bundle_push(&pushed) {
                        if !line.contains("unchanged") {
                            println!("kairos dev: pushed {line}");
                        }
                    }
                    for dag in pushed.answer.dags.iter().filter(|d| d.created) {
                        if let Err(e) = api.set_paused(&dag.dag_id, false).await {
                            eprintln!("kairos dev: {} stays paused: {e}", dag.dag_id);
                        }
                    }
                }
                Err(e) => {
                    all_done = false;
                    eprintln!("kairos dev: {e} (retrying)");
                }
            },
        }
        if all_done {
            handled = now;
        }
    }
}

/// Every file under `dir` (six levels deep) with its modification time.
fn snapshot(dir: &std::path::Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut out = BTreeMap::new();
    let mut folders = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if depth < 6 {
                    folders.push((path, depth + 1));
                }
            } else if let Ok(modified) = meta.modified() {
                out.insert(path, modified);
            }
        }
    }
    out
}
