//! `kairos dags list`: the cluster's DAGs.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use crate::commands::connect::{Remote, with_api};
use crate::commands::output::Output;
use crate::table;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub remote: Remote,
}

pub fn list(args: &ListArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let dags = api.all_pages("/dags", "dags").await?;
        if output == Output::Json {
            println!("{}", Value::Array(dags));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = dags
            .iter()
            .map(|d| {
                vec![
                    d["dag_id"].as_str().unwrap_or("").to_string(),
                    d["bundle"].as_str().unwrap_or("").to_string(),
                    d["is_paused"].to_string(),
                    d["latest_version"].to_string(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["DAG", "BUNDLE", "PAUSED", "VERSION"], &rows)
        );
        Ok(())
    })
}
