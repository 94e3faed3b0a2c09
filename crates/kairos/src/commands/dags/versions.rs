//! `kairos dags versions DAG`: every version of a DAG.

use std::process::ExitCode;

use kairos_client::Read;

use super::DagArgs;
use crate::commands::connect::with_api;
use crate::commands::output::{Output, print_json};
use crate::table;

pub fn versions(args: &DagArgs) -> ExitCode {
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let versions = api.versions(&dag_id, Read::Local).await?;
        if output == Output::Json {
            print_json(&versions)?;
            return Ok(());
        }
        let rows: Vec<Vec<String>> = versions
            .iter()
            .map(|v| {
                vec![
                    v.version.to_string(),
                    table::date(&v.created_at),
                    v.tasks.to_string(),
                    v.hash.chars().take(19).collect(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["VERSION", "CREATED", "TASKS", "HASH"], &rows)
        );
        Ok(())
    })
}
