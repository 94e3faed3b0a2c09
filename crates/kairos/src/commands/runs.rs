//! `kairos runs list|show|mark|delete`: a DAG's runs, over the REST API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::api_client::urlencode;
use super::connect::{Remote, with_api};
use super::output::Output;
use crate::table;

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
                let runs = api
                    .all_pages(&format!("/dags/{}/dagRuns", urlencode(&dag_id)), "dag_runs")
                    .await?;
                if output == Output::Json {
                    println!("{}", Value::Array(runs));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r["dag_run_id"].as_str().unwrap_or("").to_string(),
                            r["run_type"].as_str().unwrap_or("").to_string(),
                            r["state"].as_str().unwrap_or("").to_string(),
                            r["version"].to_string(),
                            r["logical_date"].as_str().unwrap_or("-").to_string(),
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
            let path = format!("/dags/{}/dagRuns/{}", urlencode(dag_id), urlencode(run_id));
            let output = remote.output;
            with_api(remote, |api| async move {
                let run = api.json(reqwest::Method::GET, &path, None).await?;
                if output == Output::Json {
                    println!("{run}");
                    return Ok(());
                }
                for key in [
                    "dag_id",
                    "dag_run_id",
                    "run_type",
                    "state",
                    "version",
                    "logical_date",
                    "data_interval_start",
                    "data_interval_end",
                    "start_date",
                    "end_date",
                    "triggered_by",
                    "conf",
                ] {
                    let value = match &run[key] {
                        Value::String(s) => s.clone(),
                        Value::Null => "-".to_string(),
                        other => other.to_string(),
                    };
                    println!("{key:<20} {value}");
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

fn run_path(dag_id: &str, run_id: &str) -> String {
    format!("/dags/{}/dagRuns/{}", urlencode(dag_id), urlencode(run_id))
}

/// Marks a run success or failed.
pub fn mark(dag_id: &str, run_id: &str, state: &str, remote: &Remote) -> ExitCode {
    let output = remote.output;
    with_api(remote, |api| async move {
        if !matches!(state, "success" | "failed") {
            return Err(format!(
                "a run can be marked `success` or `failed`, not `{state}`"
            ));
        }
        let run = api
            .json(
                reqwest::Method::PATCH,
                &run_path(dag_id, run_id),
                Some(json!({ "state": state })),
            )
            .await?;
        match output {
            Output::Json => println!("{run}"),
            Output::Text => println!(
                "run {dag_id}/{run_id} is {}",
                run["state"].as_str().unwrap_or("?")
            ),
        }
        Ok(())
    })
}

/// Deletes a run.
pub fn delete(dag_id: &str, run_id: &str, remote: &Remote) -> ExitCode {
    let output = remote.output;
    with_api(remote, |api| async move {
        api.json(reqwest::Method::DELETE, &run_path(dag_id, run_id), None)
            .await?;
        if output == Output::Text {
            println!("run {dag_id}/{run_id} deleted");
        }
        Ok(())
    })
}
