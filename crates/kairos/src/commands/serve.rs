//! `kairos server`: one node of a cluster, configured from flags, `KAIROS_*` and kairos.toml.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_config_layers::Layer;
use kairos_server::config::ConfigLayer;
use kairos_server::server;

/// Flags win over `KAIROS_*` variables, which win over the config file.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Every setting, with its flag and variable (declared in `kairos_server::config`).
    #[command(flatten)]
    pub settings: ConfigLayer,
    /// A TOML file with a `[server]` table of the same settings.
    #[arg(long, default_value = "kairos.toml")]
    pub config: PathBuf,
}

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
    let config = ConfigLayer::from_file(&args.config)
        .and_then(|file| args.settings.clone().over(file).resolve());
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
