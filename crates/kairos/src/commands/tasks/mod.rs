//! `kairos tasks list|states|clear|mark|explain|logs|render|test`: a DAG's tasks and a
//! run's task instances, over the REST API. `logs`, which follows a log as it
//! grows, is in its own file; so are `render` and `test`, which read a DAG file
//! alone.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::Read;
use kairos_client::api::ClearRequest;

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;
use logs::LogsArgs;
use render::RenderArgs;
use test::TaskTestArgs;

pub mod logs;
pub mod render;
pub mod test;

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
    /// A task's templated arguments rendered for a date, from its DAG file
    /// (offline: no XComs, no Variables).
    Render(RenderArgs),
    /// Run one task of a DAG file here and now, without its upstream tasks and
    /// recording nothing (Airflow's `tasks test`): a throwaway one-node
    /// cluster of this process runs it and prints its log.
    Test(TaskTestArgs),
}

pub fn run(args: &TasksArgs) -> ExitCode {
    match &args.command {
        TasksCommand::Render(render) => render::render(render),
        TasksCommand::Test(t) => test::test(t),
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
            let clear = ClearRequest {
                dag_run_id: Some(run_id.clone()),
                task_ids: task_ids.clone(),
                include_upstream: *upstream,
                include_downstream: *downstream,
                only_failed: *only_failed,
                dry_run: *dry_run,
                ..ClearRequest::default()
            };
            with_api(remote, |api| async move {
                let answer = api.clear_task_instances(dag_id, &clear).await?;
                let ids = answer.task_ids.join(", ");
                if clear.dry_run {
                    println!("would clear: {ids}");
                } else {
                    println!("cleared {} task instance(s): {ids}", answer.cleared);
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
        } => with_api(remote, |api| async move {
            let ti = api
                .mark_task_instance(dag_id, run_id, task_id, state)
                .await?;
            println!("{} is {}", ti.task_id, ti.state);
            Ok(())
        }),
        TasksCommand::Explain {
            dag_id,
            run_id,
            task_id,
            remote,
        } => {
            let output = remote.output;
            with_api(remote, |api| async move {
                let answer = api.explain(dag_id, run_id, task_id).await?;
                if output == Output::Json {
                    print_json(&answer)?;
                    return Ok(());
                }
                println!("state: {}", answer.state.as_deref().unwrap_or("unknown"));
                if answer.reasons.is_empty() {
                    println!("nothing holds it back");
                }
                for r in &answer.reasons {
                    println!("- {r}");
                }
                Ok(())
            })
        }
        TasksCommand::States {
            dag_id,
            run_id,
            remote,
        } => {
            let output = remote.output;
            with_api(remote, |api| async move {
                let tis = api.task_instances(dag_id, run_id, Read::Consistent).await?;
                if output == Output::Json {
                    print_json(&tis)?;
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = tis
                    .iter()
                    .map(|t| {
                        vec![
                            t.task_id.clone(),
                            if t.map_index < 0 {
                                String::new()
                            } else {
                                t.map_index.to_string()
                            },
                            t.state.clone(),
                            t.try_number.to_string(),
                            t.hostname.clone().unwrap_or_default(),
                            t.note.clone().unwrap_or_default(),
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
            None => api.dag(dag_id, Read::Local).await?.latest_version,
        };
        let tasks = api.version(dag_id, version).await?.tasks;
        if output == Output::Json {
            print_json(&tasks)?;
            return Ok(());
        }
        let rows: Vec<Vec<String>> = tasks
            .iter()
            .map(|t| {
                vec![
                    t.task_id.clone(),
                    t.operator.clone(),
                    if t.upstream.is_empty() {
                        "-".into()
                    } else {
                        t.upstream.join(",")
                    },
                    t.trigger_rule.clone(),
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
