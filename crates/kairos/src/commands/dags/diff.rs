//! `kairos dags diff DAG FROM TO`: what changed between two versions of a DAG.

use std::process::ExitCode;

use clap::Args;

use crate::commands::connect::{Remote, with_api};
use crate::commands::output::{Output, print_json};

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
        let c = api.diff(&dag_id, from, to).await?.changes;
        if output == Output::Json {
            print_json(&c)?;
            return Ok(());
        }
        println!("{dag_id}: version {from} -> {to}");
        for t in &c.tasks_added {
            println!("  + task {t}");
        }
        for t in &c.tasks_removed {
            println!("  - task {t}");
        }
        for t in &c.tasks_changed {
            // The fields as a JSON list, as this line has always shown them.
            println!(
                "  ~ task {}: {}",
                t.task_id,
                serde_json::to_string(&t.fields)?
            );
        }
        for f in &c.dag_fields_changed {
            println!("  ~ dag {f}");
        }
        for (files, mark) in [
            (&c.files_added, "+"),
            (&c.files_removed, "-"),
            (&c.files_changed, "~"),
        ] {
            for f in files {
                println!("  {mark} file {f}");
            }
        }
        Ok(())
    })
}
