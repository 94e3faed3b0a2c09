//! `kairos dags versions DAG`: every version of a DAG.

use std::process::ExitCode;

use serde_json::Value;

use kairos_client::Read;

use super::DagArgs;
use crate::commands::connect::with_api;
use crate::commands::output::Output;
use crate::table;

pub fn versions(args: &DagArgs) -> ExitCode {
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let versions = api.versions(&dag_id, Read::Local).await?;
        if output == Output::Json {
            println!("{}", Value::Array(versions));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = versions
            .iter()
            .map(|v| {
                vec![
                    v["version"].to_string(),
                    v["created_at"].as_str().unwrap_or("").to_string(),
                    v["tasks"].to_string(),
                    v["hash"].as_str().unwrap_or("").chars().take(19).collect(),
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
