//! `kairos`: the single binary of the Kairos scheduler.
//!
//! It reads DAG files (`kairos dags validate`, `kairos dags show`), runs a server
//! node (`kairos server`), runs a worker agent (`kairos worker`) and manages the
//! cluster (`kairos cluster ...`).

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
            cli::DagsCommand::Push(args) => commands::remote::push(&args),
            cli::DagsCommand::List(args) => commands::remote::list(&args),
            cli::DagsCommand::Trigger(args) => commands::remote::trigger(&args),
            cli::DagsCommand::Pause(args) => commands::remote::pause(&args, true),
            cli::DagsCommand::Unpause(args) => commands::remote::pause(&args, false),
            cli::DagsCommand::Versions(args) => commands::remote::versions(&args),
            cli::DagsCommand::Diff(args) => commands::remote::diff(&args),
            cli::DagsCommand::Backfill(args) => commands::backfill::backfill(&args),
            cli::DagsCommand::Test(args) => commands::dag_test::test(&args),
        },
        cli::Command::Server(args) => commands::serve::serve(&args),
        cli::Command::Worker(args) => commands::worker::run(&args),
        cli::Command::Cluster(args) => commands::membership::cluster(&args),
        cli::Command::Tasks(args) => commands::remote::tasks(&args),
        cli::Command::Dev(args) => commands::dev::run(&args),
        cli::Command::Runs(args) => commands::remote::runs(&args),
        cli::Command::Pools(args) => commands::admin::pools(&args),
        cli::Command::Variables(args) => commands::admin::variables(&args),
    }
}
