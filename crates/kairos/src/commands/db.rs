//! `kairos db clean`: deletes old ended runs with their task instances, tries
//! and XComs (retention), as Airflow's `airflow db clean` trims its tables. The
//! servers can do it on their own too (`--retention-days`,
//! `--retention-keep-last`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::api::PurgeRequest;

use super::args::parse_date;
use super::connect::{Remote, with_api};
use super::output::{Output, print_json};

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Delete ended runs (success or failed) that ended before a time, beyond
    /// each DAG's newest N, with their task instances, tries and XComs. Queued
    /// and running runs stay. All DAGs needs a cluster admin; one DAG, its
    /// operator.
    Clean {
        /// Runs that ended before this time go (2026-01-01 or RFC 3339),
        /// as Airflow's flag.
        #[arg(long, conflicts_with = "older_than_days")]
        clean_before_timestamp: Option<String>,
        /// Runs that ended more than this many days ago go.
        #[arg(long)]
        older_than_days: Option<f64>,
        /// Each DAG keeps at least its newest this many runs.
        #[arg(long)]
        keep_last: Option<u32>,
        /// Only this DAG's runs.
        #[arg(long)]
        dag_id: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn run(args: &DbArgs) -> ExitCode {
    match &args.command {
        DbCommand::Clean {
            clean_before_timestamp,
            older_than_days,
            keep_last,
            dag_id,
            remote,
        } => {
            let before = match clean_before_timestamp
                .as_deref()
                .map(|t| parse_date("--clean-before-timestamp", t))
                .transpose()
            {
                Ok(before) => before,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            if before.is_none() && older_than_days.is_none() && keep_last.is_none() {
                eprintln!(
                    "error: say which runs go: --older-than-days N or --clean-before-timestamp \
                     DATE (an age), --keep-last N (runs kept per DAG), or both"
                );
                return ExitCode::from(2);
            }
            let request = PurgeRequest {
                dag_id: dag_id.clone(),
                before,
                older_than_days: *older_than_days,
                keep_last: *keep_last,
            };
            let output = remote.output;
            with_api(remote, |api| async move {
                let purged = api.purge_all(&request).await?;
                match output {
                    Output::Json => print_json(&purged)?,
                    Output::Text => println!(
                        "deleted {} runs, {} task instances, {} XComs (in {} commands){}",
                        purged.runs,
                        purged.task_instances,
                        purged.xcoms,
                        purged.commands,
                        purged
                            .before
                            .map(|b| format!("; ended before {}", b.to_rfc3339()))
                            .unwrap_or_default()
                    ),
                }
                Ok(())
            })
        }
    }
}
