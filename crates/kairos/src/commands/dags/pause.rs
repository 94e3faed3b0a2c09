//! `kairos dags pause|unpause DAG`: no new runs and no new tasks while paused.

use std::process::ExitCode;

use super::DagArgs;
use crate::commands::connect::with_api;

pub fn pause(args: &DagArgs, paused: bool) -> ExitCode {
    let dag_id = args.dag_id.clone();
    with_api(&args.remote, |api| async move {
        api.set_paused(&dag_id, paused).await?;
        println!("{dag_id} is {}", if paused { "paused" } else { "unpaused" });
        Ok(())
    })
}
