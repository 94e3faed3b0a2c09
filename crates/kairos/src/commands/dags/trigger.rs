//! `kairos dags trigger DAG`: a manual run.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::commands::api_client::urlencode;
use crate::commands::args::parse_conf;
use crate::commands::connect::{Remote, fail, with_api};
use crate::commands::output::Output;

#[derive(Args, Debug)]
pub struct TriggerArgs {
    pub dag_id: String,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// The run's logical date (RFC 3339).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run id (default `manual__<logical date or now>`).
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn trigger(args: &TriggerArgs) -> ExitCode {
    let conf = match parse_conf(args.conf.as_deref()) {
        Ok(conf) => conf,
        Err(e) => return fail(e),
    };
    let mut body = json!({"conf": conf});
    if let Some(d) = &args.logical_date {
        body["logical_date"] = json!(d);
    }
    if let Some(r) = &args.run_id {
        body["dag_run_id"] = json!(r);
    }
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let run = api
            .json(
                reqwest::Method::POST,
                &format!("/dags/{}/dagRuns", urlencode(&dag_id)),
                Some(body),
            )
            .await?;
        match output {
            Output::Json => println!("{run}"),
            Output::Text => println!(
                "triggered {} run {} (version {}, {})",
                dag_id,
                run["dag_run_id"].as_str().unwrap_or("?"),
                run["version"],
                run["state"].as_str().unwrap_or("?")
            ),
        }
        Ok(())
    })
}
