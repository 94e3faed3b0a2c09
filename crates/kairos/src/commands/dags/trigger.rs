//! `kairos dags trigger DAG`: a manual run.

use std::process::ExitCode;

use clap::Args;
use kairos_client::api::TriggerRun;

use crate::commands::args::{parse_conf, parse_rfc3339};
use crate::commands::connect::{Remote, fail, with_api};
use crate::commands::output::{Output, print_json};

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
    let run = match request(args) {
        Ok(run) => run,
        Err(e) => return fail(e),
    };
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let run = api.trigger(&dag_id, &run).await?;
        match output {
            Output::Json => print_json(&run)?,
            Output::Text => println!(
                "triggered {} run {} (version {}, {})",
                dag_id, run.dag_run_id, run.version, run.state
            ),
        }
        Ok(())
    })
}

fn request(args: &TriggerArgs) -> Result<TriggerRun, String> {
    Ok(TriggerRun {
        dag_run_id: args.run_id.clone(),
        logical_date: args
            .logical_date
            .as_deref()
            .map(|text| parse_rfc3339("--logical-date", text))
            .transpose()?,
        conf: parse_conf(args.conf.as_deref())?,
        ..TriggerRun::default()
    })
}
