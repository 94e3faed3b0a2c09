//! `kairos runs list|show|mark|delete`: a DAG's runs, over the REST API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::Read;
use kairos_client::api::MarkRunState;
use serde_json::json;

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table::{self, cell};

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// A DAG's runs: id, type, state, version, logical date.
    List {
        dag_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// One run, with its conf and the version it is pinned to.
    Show {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Mark a run success or failed, with its task instances, as Airflow does.
    Mark {
        dag_id: String,
        run_id: String,
        /// `success` or `failed`.
        state: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a run with its task instances and XComs.
    Delete {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn run(args: &RunsArgs) -> ExitCode {
    match &args.command {
        RunsCommand::List { dag_id, remote } => {
            let (dag_id, output) = (dag_id.clone(), remote.output);
            with_api(remote, |api| async move {
                let runs = api.dag_runs(&dag_id, Read::Local).await?;
                if output == Output::Json {
                    print_json(&runs)?;
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.dag_run_id.clone(),
                            r.run_type.clone(),
                            r.state.clone(),
                            r.version.to_string(),
                            cell(&json!(r.logical_date)),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(&["RUN", "TYPE", "STATE", "VERSION", "LOGICAL DATE"], &rows)
                );
                Ok(())
            })
        }
        RunsCommand::Show {
            dag_id,
            run_id,
            remote,
        } => {
            let output = remote.output;
            with_api(remote, |api| async move {
                let run = api.dag_run(dag_id, run_id, Read::Local).await?;
                if output == Output::Json {
                    print_json(&run)?;
                    return Ok(());
                }
                // Each as the API writes it: dates in RFC 3339, conf as JSON.
                for (key, value) in [
                    ("dag_id", json!(run.dag_id)),
                    ("dag_run_id", json!(run.dag_run_id)),
                    ("run_type", json!(run.run_type)),
                    ("state", json!(run.state)),
                    ("version", json!(run.version)),
                    ("logical_date", json!(run.logical_date)),
                    ("data_interval_start", json!(run.data_interval_start)),
                    ("data_interval_end", json!(run.data_interval_end)),
                    ("start_date", json!(run.start_date)),
                    ("end_date", json!(run.end_date)),
                    ("triggered_by", json!(run.triggered_by)),
                    ("conf", json!(run.conf)),
                ] {
                    println!("{key:<20} {}", cell(&value));
                }
                if let Some(cb) = &run.dag_callback {
                    println!(
                        "{:<20} {}",
                        "dag_callback",
                        format_args!("{} ({}): {}", cb.kind, cb.reason, cb.state)
                    );
                }
                Ok(())
            })
        }
        RunsCommand::Mark {
            dag_id,
            run_id,
            state,
            remote,
        } => mark(dag_id, run_id, state, remote),
        RunsCommand::Delete {
            dag_id,
            run_id,
            remote,
        } => delete(dag_id, run_id, remote),
    }
}

/// Marks a run success or failed.
pub fn mark(dag_id: &str, run_id: &str, state: &str, remote: &Remote) -> ExitCode {
    let output = remote.output;
    with_api(remote, |api| async move {
        let state = match state {
            "success" => MarkRunState::Success,
            "failed" => MarkRunState::Failed,
            other => {
                return Err(
                    format!("a run can be marked `success` or `failed`, not `{other}`").into(),
                );
            }
        };
        let run = api.mark_run(dag_id, run_id, state).await?;
        match output {
            Output::Json => print_json(&run)?,
            Output::Text => println!("run {dag_id}/{run_id} is {}", run.state),
        }
        Ok(())
    })
}

/// Deletes a run.
pub fn delete(dag_id: &str, run_id: &str, remote: &Remote) -> ExitCode {
    let output = remote.output;
    with_api(remote, |api| async move {
        api.delete_run(dag_id, run_id).await?;
        if output == Output::Text {
            println!("run {dag_id}/{run_id} deleted");
        }
        Ok(())
    })
}
