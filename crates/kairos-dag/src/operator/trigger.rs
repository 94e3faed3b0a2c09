//! TriggerDagRunOperator: asks the cluster for a run of another DAG.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Args;
use crate::duration::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerDagRunOperator {
    pub trigger_dag_id: String,
    pub trigger_run_id: Option<String>,
    pub conf: Option<Value>,
    /// A template or date-time; Airflow 2 called it `execution_date`.
    pub logical_date: Option<String>,
    pub reset_dag_run: bool,
    pub wait_for_completion: bool,
    pub poke_interval: Duration,
    pub allowed_states: Vec<String>,
    pub failed_states: Vec<String>,
    pub skip_when_already_exists: bool,
}

impl TriggerDagRunOperator {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<TriggerDagRunOperator> {
        let trigger_dag_id = a.required_string("trigger_dag_id", "downstream_dag");
        let trigger_run_id = a.string("trigger_run_id");
        let conf = a.json("conf");
        if let Some(c) = &conf {
            if !c.is_object() {
                a.error(
                    "conf",
                    "`conf` must be a mapping (it becomes the run's conf)",
                    None,
                );
            }
        }
        let logical_date = a
            .string("logical_date")
            .or_else(|| a.string("execution_date"));
        let reset_dag_run = a.bool("reset_dag_run", false);
        let wait_for_completion = a.bool("wait_for_completion", false);
        let poke_interval = a
            .duration("poke_interval")
            .unwrap_or(Duration::from_secs(60));
        let allowed_states = a
            .string_list("allowed_states")
            .unwrap_or_else(|| vec!["success".into()]);
        let failed_states = a
            .string_list("failed_states")
            .unwrap_or_else(|| vec!["failed".into()]);
        let skip_when_already_exists = a.bool("skip_when_already_exists", false);
        let _ = a.bool("deferrable", false);
        Some(TriggerDagRunOperator {
            trigger_dag_id: trigger_dag_id?,
            trigger_run_id,
            conf,
            logical_date,
            reset_dag_run,
            wait_for_completion,
            poke_interval,
            allowed_states,
            failed_states,
            skip_when_already_exists,
        })
    }
}
