//! `kairos server`: one node of a cluster, configured from flags, `KAIROS_*` and kairos.toml.

use std::path::Path;
use std::process::ExitCode;

use kairos_server::config::ConfigLayer;
use kairos_server::server;

use crate::cli::ServerArgs;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn serve(args: &ServerArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let flags = ConfigLayer {
        node_id: args.node_id,
        data_dir: args.data_dir.clone(),
        grpc_addr: args.grpc_addr.clone(),
        http_addr: args.http_addr.clone(),
        peers: args.peers.clone(),
        heartbeat_ms: args.heartbeat_ms,
        election_timeout_ms: args.election_timeout_ms.clone(),
        snapshot_every: args.snapshot_every,
        keep_behind_snapshot: args.keep_behind_snapshot,
        worker_lease_ms: args.worker_lease_ms,
        worker_heartbeat_ms: args.worker_heartbeat_ms,
        worker_token_file: args.worker_token_file.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_ca: args.tls_ca.clone(),
        api_token_file: args.api_token_file.clone(),
        variables_key_file: args.variables_key_file.clone(),
        peer_routes: args.peer_routes.clone(),
    };
    let config = (|| {
        let env = ConfigLayer::from_env(|name| std::env::var(name).ok())?;
        let file = if Path::new(&args.config).exists() {
            ConfigLayer::from_file(&args.config)?
        } else {
            ConfigLayer::default()
        };
        flags.over(env).over(file).resolve()
    })();
    let config = match config {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(e),
    };
    match runtime.block_on(server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
