//! `kairos`: the single binary of the Kairos scheduler.
//!
//! For now it reads DAG files (`kairos dags validate`, `kairos dags show`); the
//! server, the worker and the cluster commands join it as they are built.

mod cli;
mod commands;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Dags(dags) => match dags.command {
            cli::DagsCommand::Validate(args) => commands::dags::validate(&args),
            cli::DagsCommand::Show(args) => commands::dags::show(&args),
        },
    }
}
