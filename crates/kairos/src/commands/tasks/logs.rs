//! `kairos tasks logs DAG RUN TASK`: a task's log (the last try unless --try),
//! from its worker or the replicated tail; `--follow` keeps printing as it grows,
//! until the try is over.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::commands::api_client::urlencode;
use crate::commands::connect::{Remote, with_api};

#[derive(Args, Debug)]
pub struct LogsArgs {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    #[arg(long = "try")]
    pub try_number: Option<u32>,
    #[arg(long, default_value_t = -1)]
    pub map_index: i32,
    /// Keep printing as the log grows, until the task finishes.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn logs(args: &LogsArgs) -> ExitCode {
    let LogsArgs {
        dag_id,
        run_id,
        task_id,
        try_number,
        map_index,
        follow,
        remote,
    } = args;
    let ti_path = format!(
        "/dags/{}/dagRuns/{}/taskInstances/{}",
        urlencode(dag_id),
        urlencode(run_id),
        urlencode(task_id)
    );
    let (try_number, map_index, follow) = (*try_number, *map_index, *follow);
    with_api(remote, |api| async move {
        let ti_url = format!("{ti_path}?map_index={map_index}&consistent=true");
        let ti = api.json(reqwest::Method::GET, &ti_url, None).await?;
        let try_number = match try_number {
            Some(t) => t,
            None => ti["try_number"].as_u64().unwrap_or(0) as u32,
        };
        if try_number == 0 {
            return Err(format!("{task_id} has not run yet (state {})", ti["state"]));
        }
        let mut offset = 0u64;
        loop {
            let url = format!("{ti_path}/logs/{try_number}?map_index={map_index}&offset={offset}");
            let (headers, text) = api.call(reqwest::Method::GET, &url, None).await?;
            print!("{text}");
            let from_tail = headers
                .get("x-kairos-log-source")
                .and_then(|v| v.to_str().ok())
                == Some("replicated-tail");
            offset = headers
                .get("x-kairos-log-next")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(offset + text.len() as u64);
            if !follow || from_tail {
                return Ok(());
            }
            let ti = api.json(reqwest::Method::GET, &ti_url, None).await?;
            let finished = matches!(
                ti["state"].as_str(),
                Some(
                    "success"
                        | "failed"
                        | "skipped"
                        | "upstream_failed"
                        | "up_for_retry"
                        | "removed"
                )
            );
            let current = ti["try_number"].as_u64().unwrap_or(0);
            // The followed try is over: it finished, or a later try began.
            if (finished && current == u64::from(try_number)) || current > u64::from(try_number) {
                // One last read for whatever came after the previous one.
                let url =
                    format!("{ti_path}/logs/{try_number}?map_index={map_index}&offset={offset}");
                if let Ok((_, rest)) = api.call(reqwest::Method::GET, &url, None).await {
                    print!("{rest}");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
