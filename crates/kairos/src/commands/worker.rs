//! `kairos worker`: settings from flags, `KAIROS_*` and `kairos.toml`, then the agent.

use std::path::Path;
use std::process::ExitCode;

use kairos_worker::WorkerLayer;

use crate::cli::WorkerArgs;

pub fn run(args: &WorkerArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let flags = WorkerLayer {
        servers: args.servers.clone(),
        queues: args.queues.clone(),
        slots: args.slots,
        envs: (!args.envs.is_empty()).then(|| args.envs.join(",")),
        token_file: args.token_file.clone(),
        worker_id: args.worker_id.clone(),
        data_dir: args.data_dir.clone(),
        http_addr: args.http_addr.clone(),
        advertise_http: args.advertise_http.clone(),
        kill_grace_secs: args.kill_grace_secs,
        tls_ca: args.tls_ca.clone(),
        attempt_log: args.attempt_log.clone(),
    };
    let config = (|| {
        let env = WorkerLayer::from_env(|name| std::env::var(name).ok())?;
        let file = if Path::new(&args.config).exists() {
            WorkerLayer::from_file(&args.config)?
        } else {
            WorkerLayer::default()
        };
        flags.over(env).over(file).resolve()
    })();
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(kairos_worker::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
