//! A manual run, as Airflow's trigger makes it: named `manual__<logical date, or
//! now>` unless the caller names it, the logical date (when given) as a
//! zero-length data interval. The REST API and the worker protocol's TriggerRun
//! (a TriggerDagRunOperator) both create runs through it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::RunType;
use kairos_state::Command;
use serde_json::Value;

/// What the caller asked for.
pub struct Trigger {
    pub dag_id: String,
    /// `None` to name the run as Airflow does.
    pub run_id: Option<String>,
    pub logical_date: Option<DateTime<Utc>>,
    pub conf: BTreeMap<String, Value>,
    pub triggered_by: String,
}

impl Trigger {
    /// The run's id, given the time of the trigger.
    pub fn run_id(&self, now: DateTime<Utc>) -> String {
        match &self.run_id {
            Some(id) => id.clone(),
            None => RunType::Manual.run_id(self.logical_date.unwrap_or(now), None),
        }
    }

    /// The command that creates the run named `run_id`.
    pub fn command(self, run_id: String) -> Command {
        Command::CreateDagRun {
            dag_id: self.dag_id,
            run_id,
            run_type: RunType::Manual,
            version: None,
            logical_date: self.logical_date,
            data_interval_start: self.logical_date,
            data_interval_end: self.logical_date,
            run_after: None,
            conf: self.conf,
            triggered_by: self.triggered_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_trigger_names_its_run_after_the_logical_date_or_now() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut trigger = Trigger {
            dag_id: "etl".into(),
            run_id: None,
            logical_date: Some(at),
            conf: BTreeMap::new(),
            triggered_by: "api".into(),
        };
        let later = at + chrono::TimeDelta::hours(1);
        assert_eq!(trigger.run_id(later), "manual__2026-03-01T12:00:00+00:00");
        trigger.logical_date = None;
        assert_eq!(trigger.run_id(later), "manual__2026-03-01T13:00:00+00:00");
        trigger.run_id = Some("mine".into());
        assert_eq!(trigger.run_id(later), "mine");
    }
}
