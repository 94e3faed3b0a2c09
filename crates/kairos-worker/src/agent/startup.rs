//! Everything before the first registration: the data directory's parts, the
//! process groups an earlier life of this worker left behind, the Python runner,
//! the execution environments (probed), the log server, the connection and the
//! attempt log, gathered into the
//! [`Agent`] every loop shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::error::WorkerError;
use super::shared::Agent;
use crate::attempt_log::AttemptLog;
use crate::config::WorkerConfig;
use crate::conn::Conn;
use crate::files::FileCache;
use crate::logs;
use crate::modes;
use crate::process;
use crate::scratch::Scratch;
use crate::spool::Spool;

/// Prepares the data directory, starts the log server and connects.
pub(super) async fn start_up(config: WorkerConfig) -> Result<Arc<Agent>, WorkerError> {
    let setup = |what: &str, e: std::io::Error| WorkerError::Setup(format!("{what}: {e}"));
    for dir in [
        config.data_dir.clone(),
        config.log_dir(),
        config.attempts_dir(),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| setup(&dir.display().to_string(), e))?;
    }
    let spool = Spool::open(&config.spool_dir()).map_err(|e| setup("the spool directory", e))?;
    let files = FileCache::open(&config.files_dir()).map_err(|e| setup("the file cache", e))?;
    let bundles = crate::bundle::Bundles::open(&config.bundles_dir())
        .map_err(|e| setup("the bundle cache", e))?;
    // Process groups left by an earlier life of this worker (killed with -9) are
    // stopped before anything runs: the cluster may hand those attempts back.
    // A directory that cannot be read is a setup error: its groups would go on
    // running beside the retries the cluster hands out.
    let leftovers = "reading the attempts directory for groups left running";
    for entry in std::fs::read_dir(config.attempts_dir()).map_err(|e| setup(leftovers, e))? {
        let path = entry.map_err(|e| setup(leftovers, e))?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("pgid") {
            process::kill_recorded_group(&path);
        }
    }
    // Then their directories go: the pool starts empty.
    let attempts = config.attempts_dir();
    std::fs::remove_dir_all(&attempts)
        .and_then(|()| std::fs::create_dir_all(&attempts))
        .map_err(|e| setup("emptying the attempts directory", e))?;
    let stage = config.stage_dir();
    if let Err(e) = std::fs::remove_dir_all(&stage) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(setup("emptying the staging directory", e));
        }
    }
    std::fs::create_dir_all(&stage).map_err(|e| setup("the staging directory", e))?;
    // A runner.py written there by an earlier version: Python callables now get
    // a fresh copy for each call, so one a task rewrote is never used again.
    let _ = std::fs::remove_file(config.data_dir.join("runner.py"));
    modes::protect(&config).map_err(|e| setup("the data directory's permissions", e))?;
    let scratch = Scratch::new(&attempts, &stage, config.run_as.clone());

    let listener = tokio::net::TcpListener::bind(&config.http_addr)
        .await
        .map_err(|e| setup(&format!("cannot listen on {}", config.http_addr), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| setup("the log server's address", e))?;
    let tls = crate::tls::load(&config).map_err(WorkerError::Setup)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let log_url = config
        .advertise_http
        .clone()
        .map(|a| format!("{scheme}://{a}"))
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    crate::tls::serve_logs(listener, logs::router(config.log_dir()), tls.as_ref())
        .map_err(|e| setup("the log server", e))?;

    let environments = crate::environments::probe_all(&config.envs)
        .await
        .map_err(WorkerError::Setup)?;
    for env in &environments {
        tracing::info!(
            environment = %env.name,
            python = %env.python.display(),
            version = %env.python_version,
            packages = env.packages.len(),
            "execution environment"
        );
    }
    let conn = Conn::new(config.servers.clone(), config.token.as_deref(), tls)
        .map_err(WorkerError::Setup)?;
    tracing::info!(
        worker = %config.worker_id,
        queues = ?config.queues,
        slots = config.slots,
        logs = %log_url,
        "kairos worker starting"
    );
    let attempt_log = match &config.attempt_log {
        Some(path) => Some(AttemptLog::open(path).map_err(|e| {
            WorkerError::Setup(format!(
                "cannot open the attempt log {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    Ok(Arc::new(Agent {
        conn: Arc::new(conn),
        spool,
        scratch,
        files,
        bundles,
        log_url,
        environments,
        registered: AtomicBool::new(false),
        heartbeat_ms: AtomicU64::new(3000),
        lease_ms: AtomicU64::new(30_000),
        renewed: Mutex::new(std::time::Instant::now()),
        running: Mutex::new(HashMap::new()),
        refused: Mutex::new(None),
        changed: Notify::new(),
        attempt_log,
        log_uploads: Default::default(),
        reserved: Default::default(),
        polling: Default::default(),
        single_reports: Default::default(),
        draining: Default::default(),
        config,
    }))
}
