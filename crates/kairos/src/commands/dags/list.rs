//! `kairos dags list`: the cluster's DAGs.

use std::process::ExitCode;

use clap::Args;

use crate::commands::connect::{Remote, with_api};
use crate::commands::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub remote: Remote,
}

pub fn list(args: &ListArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let dags = api.dags().await?;
        if output == Output::Json {
            print_json(&dags)?;
            return Ok(());
        }
        let rows: Vec<Vec<String>> = dags
            .iter()
            .map(|d| {
                vec![
                    d.dag_id.clone(),
                    d.bundle.clone(),
                    d.is_paused.to_string(),
                    d.latest_version.to_string(),
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
