//! `kairos dags diff DAG FROM TO`: what changed between two versions of a DAG.

use std::process::ExitCode;

use clap::Args;

use crate::commands::connect::{Remote, with_api};
use crate::commands::output::Output;

#[derive(Args, Debug)]
pub struct DiffArgs {
    pub dag_id: String,
    pub from: u32,
    pub to: u32,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn diff(args: &DiffArgs) -> ExitCode {
    let (dag_id, from, to, output) = (args.dag_id.clone(), args.from, args.to, args.remote.output);
    with_api(&args.remote, |api| async move {
        let answer = api.diff(&dag_id, from, to).await?;
        let c = &answer["changes"];
        if output == Output::Json {
            println!("{c}");
            return Ok(());
        }
        let list = |key: &str| -> Vec<String> {
            c[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        println!("{dag_id}: version {from} -> {to}");
        for t in list("tasks_added") {
            println!("  + task {t}");
        }
        for t in list("tasks_removed") {
            println!("  - task {t}");
        }
        for t in c["tasks_changed"].as_array().into_iter().flatten() {
            println!(
                "  ~ task {}: {}",
                t["task_id"].as_str().unwrap_or("?"),
                t["fields"]
            );
        }
        for f in list("dag_fields_changed") {
            println!("  ~ dag {f}");
        }
        for (key, mark) in [
            ("files_added", "+"),
            ("files_removed", "-"),
            ("files_changed", "~"),
        ] {
            for f in list(key) {
                println!("  {mark} file {f}");
            }
        }
        Ok(())
    })
}
