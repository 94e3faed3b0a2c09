//! `kairos`: the single binary of the Kairos scheduler.
//!
//! It reads DAG files (`kairos dags validate`, `kairos dags show`), runs a server
//! node (`kairos server`), runs a worker agent (`kairos worker`) and manages the
//! cluster (`kairos cluster ...`).

mod cli;
mod commands;
mod malloc;
mod table;

use std::process::ExitCode;

use clap::Parser;

use commands::dags::{self, DagsCommand};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if matches!(
        cli.command,
        cli::Command::Server(_) | cli::Command::Worker(_) | cli::Command::Dev(_)
    ) {
        malloc::limit_arenas();
    }
    match cli.command {
        cli::Command::Dags(args) => match args.command {
            DagsCommand::Validate(args) => dags::validate::validate(&args),
            DagsCommand::Show(args) => dags::show::show(&args),
            DagsCommand::Push(args) => dags::push::push(&args),
            DagsCommand::List(args) => dags::list::list(&args),
            DagsCommand::Trigger(args) => dags::trigger::trigger(&args),
            DagsCommand::Pause(args) => dags::pause::pause(&args, true),
            DagsCommand::Unpause(args) => dags::pause::pause(&args, false),
            DagsCommand::Versions(args) => dags::versions::versions(&args),
            DagsCommand::Diff(args) => dags::diff::diff(&args),
            DagsCommand::Backfill(args) => dags::backfill::backfill(&args),
            DagsCommand::Delete(args) => dags::delete::delete(&args),
            DagsCommand::Test(args) => dags::test::test(&args),
        },
        cli::Command::Server(args) => commands::serve::serve(&args),
        cli::Command::Worker(args) => commands::worker::run(&args),
        cli::Command::Cluster(args) => commands::cluster::cluster(&args),
        cli::Command::Tasks(args) => commands::tasks::run(&args),
        cli::Command::Dev(args) => commands::dev::run(&args),
        cli::Command::Certs(args) => commands::certs::run(&args),
        cli::Command::Health(args) => commands::health::health(&args),
        cli::Command::Db(args) => commands::db::run(&args),
        cli::Command::Snapshot(args) => commands::snapshot::run(&args),
        cli::Command::Runs(args) => commands::runs::run(&args),
        cli::Command::Bundles(args) => commands::bundles::bundles(&args),
        cli::Command::Pools(args) => commands::pools::pools(&args),
        cli::Command::Assets(args) => commands::assets::assets(&args),
        cli::Command::Connections(args) => commands::connections::connections(&args),
        cli::Command::Variables(args) => commands::variables::variables(&args),
    }
}
