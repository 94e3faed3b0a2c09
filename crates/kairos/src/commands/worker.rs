//! `kairos worker`: settings from flags, `KAIROS_*` and `kairos.toml`, then the agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_config_layers::Layer;
use kairos_worker::WorkerLayer;

/// Flags win over `KAIROS_*` variables, which win over the `[worker]` table of the
/// config file.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Every setting, with its flag and variable (declared in `kairos_worker::config`).
    #[command(flatten)]
    pub settings: WorkerLayer,
    /// A TOML file with a `[worker]` table of the same settings.
    #[arg(long, default_value = "kairos.toml")]
    pub config: PathBuf,
}

pub fn run(args: &WorkerArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = WorkerLayer::from_file(&args.config)
        .and_then(|file| args.settings.clone().over(file).resolve());
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
