//! `kairos tasks logs DAG RUN TASK`: a task's log (the last try unless --try),
//! from its worker or the replicated tail; `--follow` keeps printing as it grows,
//! until the try is over.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kairos_client::Read;
use serde_json::Value;

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
    let (try_number, map_index, follow) = (*try_number, *map_index, *follow);
    with_api(remote, |api| async move {
        let ti = api
            .task_instance(dag_id, run_id, task_id, Some(map_index), Read::Consistent)
            .await?;
        let try_number = try_number.unwrap_or(ti.try_number);
        if try_number == 0 {
            // The state as JSON (quoted), as this message has always shown it.
            let state = Value::String(ti.state);
            return Err(format!("{task_id} has not run yet (state {state})").into());
        }
        let mut offset = 0u64;
        loop {
            let chunk = api
                .log(dag_id, run_id, task_id, try_number, map_index, offset)
                .await?;
            print!("{}", chunk.text);
            offset = chunk
                .next_offset
                .unwrap_or(offset + chunk.text.len() as u64);
            if !follow || chunk.replicated_tail {
                return Ok(());
            }
            let ti = api
                .task_instance(dag_id, run_id, task_id, Some(map_index), Read::Consistent)
                .await?;
            let finished = matches!(
                ti.state.as_str(),
                "success" | "failed" | "skipped" | "upstream_failed" | "up_for_retry" | "removed"
            );
            let current = ti.try_number;
            // The followed try is over: it finished, or a later try began.
            if (finished && current == try_number) || current > try_number {
                // One last read for whatever came after the previous one.
                if let Ok(rest) = api
                    .log(dag_id, run_id, task_id, try_number, map_index, offset)
                    .await
                {
                    print!("{}", rest.text);
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
