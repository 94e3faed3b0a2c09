//! `kairos runs mark|delete` and `kairos tasks list` over the REST API.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::api_client::{urlencode, with_api};
use crate::cli::{Output, Remote};
use crate::table;

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
