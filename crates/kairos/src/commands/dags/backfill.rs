//! `kairos dags backfill DAG --start --end`: creates the runs of a date range at
//! once through `POST /backfills`, then follows them, printing a line each time
//! the count of finished runs changes.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kairos_client::api::{BackfillRequest, Reprocess};
use kairos_client::{Client, Read};
use serde_json::json;

use crate::commands::args::{parse_conf, parse_date};
use crate::commands::connect::{Failure, Remote, fail, with_api};
use crate::commands::output::{Output, print_json};

#[derive(Args, Debug)]
pub struct BackfillArgs {
    pub dag_id: String,
    /// The first logical date (RFC 3339, or a date: 2026-01-01).
    #[arg(long)]
    pub start: String,
    /// The last logical date, inclusive.
    #[arg(long)]
    pub end: String,
    /// Dates that already have a run: leave them (`none`), or run the `failed` or
    /// all `completed` ones again.
    #[arg(long, default_value = "none")]
    pub reprocess_behavior: String,
    /// Runs of the backfill running at once.
    #[arg(long, default_value_t = 10)]
    pub max_active_runs: u32,
    /// The conf of every run, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// Create the runs and return, without following them.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn backfill(args: &BackfillArgs) -> ExitCode {
    let body = match request(args) {
        Ok(body) => body,
        Err(e) => return fail(e),
    };
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let created = api.create_backfill(&body).await?;
        let runs = &created.dag_run_ids;
        if output == Output::Text {
            println!(
                "backfill {} of {}: {} run(s) created, {} date(s) already had a run",
                created.id,
                args.dag_id,
                runs.len(),
                created.skipped
            );
        }
        let paused = api.dag(&args.dag_id, Read::Local).await?.is_paused;
        if paused && output == Output::Text {
            println!(
                "{} is paused: its backfill runs start when it is unpaused (kairos dags unpause {})",
                args.dag_id, args.dag_id
            );
        }
        if args.no_wait || runs.is_empty() || paused {
            if output == Output::Json {
                print_json(&created)?;
            }
            return Ok(());
        }
        let states = follow(&api, &args.dag_id, runs, output).await?;
        if output == Output::Json {
            print_json(&json!({"backfill": created, "runs": states}))?;
        }
        let failed = states.iter().filter(|(_, s)| s == "failed").count();
        if failed > 0 {
            return Err(format!("{failed} of {} backfill run(s) failed", runs.len()).into());
        }
        Ok(())
    })
}

fn request(args: &BackfillArgs) -> Result<BackfillRequest, String> {
    let start = parse_date("--start", &args.start)?;
    let end = parse_date("--end", &args.end)?;
    let reprocess_behavior = match args.reprocess_behavior.as_str() {
        "none" => Reprocess::None,
        "failed" => Reprocess::Failed,
        "completed" => Reprocess::Completed,
        _ => {
            return Err(format!(
                "--reprocess-behavior {:?}: use none, failed or completed",
                args.reprocess_behavior
            ));
        }
    };
    Ok(BackfillRequest {
        dag_id: args.dag_id.clone(),
        from_date: start,
        to_date: end,
        reprocess_behavior,
        max_active_runs: args.max_active_runs,
        dag_run_conf: parse_conf(args.conf.as_deref())?,
    })
}

/// Polls the DAG's runs until every run of the backfill has finished; their
/// final states.
async fn follow(
    api: &Client,
    dag_id: &str,
    runs: &[String],
    output: Output,
) -> Result<Vec<(String, String)>, Failure> {
    let wanted: BTreeSet<&str> = runs.iter().map(String::as_str).collect();
    let mut last = String::new();
    loop {
        let all = api.dag_runs(dag_id, Read::Local).await?;
        let states: Vec<(String, String)> = all
            .into_iter()
            .filter(|r| wanted.contains(r.dag_run_id.as_str()))
            .map(|r| (r.dag_run_id, r.state))
            .collect();
        let count = |s: &str| states.iter().filter(|(_, st)| st == s).count();
        let (success, failed) = (count("success"), count("failed"));
        let line = format!(
            "{}/{} finished ({success} success, {failed} failed), {} running, {} queued",
            success + failed,
            runs.len(),
            count("running"),
            count("queued")
        );
        if output == Output::Text && line != last {
            println!("{line}");
            last = line;
        }
        if success + failed == runs.len() {
            return Ok(states);
        }
        if states.len() < runs.len() {
            return Err(format!(
                "{} backfill run(s) are gone (deleted?)",
                runs.len() - states.len()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
