//! `kairos tasks list|states|clear|mark|explain|logs`: a DAG's tasks and a run's
//! task instances, over the REST API. `logs`, which follows a log as it grows, is
//! in its own file.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::api_client::urlencode;
use super::connect::{Remote, with_api};
use super::output::Output;
use crate::table;
use logs::LogsArgs;

pub mod logs;

#[derive(Args, Debug)]
pub struct TasksArgs {
    #[command(subcommand)]
    pub command: TasksCommand,
}

#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// The tasks of a DAG (its newest version, or --version), in dependency order.
    List {
        dag_id: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Every task instance of a run with its state, try and worker.
    States {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Clear task instances so they run again.
    Clear {
        dag_id: String,
        run_id: String,
        /// The tasks (all of the run's when none).
        task_ids: Vec<String>,
        #[arg(long)]
        downstream: bool,
        #[arg(long)]
        upstream: bool,
        #[arg(long)]
        only_failed: bool,
        /// Print what would be cleared, clear nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Mark a task instance success, failed or skipped.
    Mark {
        dag_id: String,
        run_id: String,
        task_id: String,
        state: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Why a task instance is not running.
    Explain {
        dag_id: String,
        run_id: String,
        task_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// A task's log (the last try unless --try), from its worker or the replicated tail.
    Logs(LogsArgs),
}

pub fn run(args: &TasksArgs) -> ExitCode {
    match &args.command {
        TasksCommand::List {
            dag_id,
            version,
            remote,
        } => list_tasks(dag_id, *version, remote),
        TasksCommand::Clear {
            dag_id,
            run_id,
            task_ids,
            downstream,
            upstream,
            only_failed,
            dry_run,
            remote,
        } => {
            let body = json!({
                "dag_run_id": run_id, "task_ids": task_ids, "include_downstream": downstream,
                "include_upstream": upstream, "only_failed": only_failed, "dry_run": dry_run,
            });
            let path = format!("/dags/{}/clearTaskInstances", urlencode(dag_id));
            let dry = *dry_run;
            with_api(remote, |api| async move {
                let answer = api.json(reqwest::Method::POST, &path, Some(body)).await?;
                let ids: Vec<&str> = answer["task_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                if dry {
                    println!("would clear: {}", ids.join(", "));
                } else {
                    println!(
                        "cleared {} task instance(s): {}",
                        answer["cleared"],
                        ids.join(", ")
                    );
                }
                Ok(())
            })
        }
        TasksCommand::Mark {
            dag_id,
            run_id,
            task_id,
            state,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances/{}",
                urlencode(dag_id),
                urlencode(run_id),
                urlencode(task_id)
            );
            let body = json!({"new_state": state});
            with_api(remote, |api| async move {
                let ti = api.json(reqwest::Method::PATCH, &path, Some(body)).await?;
                println!(
                    "{} is {}",
                    ti["task_id"].as_str().unwrap_or("?"),
                    ti["state"].as_str().unwrap_or("?")
                );
                Ok(())
            })
        }
        TasksCommand::Explain {
            dag_id,
            run_id,
            task_id,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances/{}/explain",
                urlencode(dag_id),
                urlencode(run_id),
                urlencode(task_id)
            );
            let output = remote.output;
            with_api(remote, |api| async move {
                let answer = api.json(reqwest::Method::GET, &path, None).await?;
                if output == Output::Json {
                    println!("{answer}");
                    return Ok(());
                }
                println!("state: {}", answer["state"].as_str().unwrap_or("unknown"));
                let reasons = answer["reasons"].as_array().cloned().unwrap_or_default();
                if reasons.is_empty() {
                    println!("nothing holds it back");
                }
                for r in reasons {
                    println!("- {}", r.as_str().unwrap_or(""));
                }
                Ok(())
            })
        }
        TasksCommand::States {
            dag_id,
            run_id,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances?consistent=true",
                urlencode(dag_id),
                urlencode(run_id)
            );
            let output = remote.output;
            with_api(remote, |api| async move {
                let tis = api.all_pages(&path, "task_instances").await?;
                if output == Output::Json {
                    println!("{}", Value::Array(tis));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = tis
                    .iter()
                    .map(|t| {
                        let map = t["map_index"].as_i64().unwrap_or(-1);
                        vec![
                            t["task_id"].as_str().unwrap_or("").to_string(),
                            if map < 0 {
                                String::new()
                            } else {
                                map.to_string()
                            },
                            t["state"].as_str().unwrap_or("").to_string(),
                            t["try_number"].to_string(),
                            t["hostname"].as_str().unwrap_or("").to_string(),
                            t["note"].as_str().unwrap_or("").to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(&["TASK", "MAP", "STATE", "TRY", "WORKER", "NOTE"], &rows)
                );
                Ok(())
            })
        }
        TasksCommand::Logs(args) => logs::logs(args),
    }
}

/// The tasks of a DAG version, as Airflow's `tasks list` prints them (with their
/// operator and upstream here).
pub fn list_tasks(dag_id: &str, version: Option<u32>, remote: &Remote) -> ExitCode {
    let output = remote.output;
    with_api(remote, |api| async move {
        let version = match version {
            Some(v) => v,
            None => {
                let dag = api
                    .json(
                        reqwest::Method::GET,
                        &format!("/dags/{}", urlencode(dag_id)),
                        None,
                    )
                    .await?;
                dag["latest_version"]
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| format!("the API gave no latest_version for {dag_id}"))?
            }
        };
        let detail = api
            .json(
                reqwest::Method::GET,
                &format!("/dags/{}/versions/{version}", urlencode(dag_id)),
                None,
            )
            .await?;
        let tasks = detail["tasks"].as_array().cloned().unwrap_or_default();
        if output == Output::Json {
            println!("{}", Value::Array(tasks));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = tasks
            .iter()
            .map(|t| {
                let upstream: Vec<&str> = t["upstream"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                vec![
                    t["task_id"].as_str().unwrap_or("").to_string(),
                    t["operator"].as_str().unwrap_or("").to_string(),
                    if upstream.is_empty() {
                        "-".into()
                    } else {
                        upstream.join(",")
                    },
                    t["trigger_rule"].as_str().unwrap_or("").to_string(),
                ]
            })
            .collect();
        println!("{dag_id} version {version}");
        print!(
            "{}",
            table::render(&["TASK", "OPERATOR", "UPSTREAM", "TRIGGER RULE"], &rows)
        );
        Ok(())
    })
}
