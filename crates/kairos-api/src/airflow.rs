//! Shapes that only Airflow's clients need, shared by several resources: a
//! tag as an object, a length of time as Airflow's `TimeDelta`, a schedule as
//! its `ScheduleInterval`, an operator's class, the empty lists of what Kairos
//! never has (import errors, DAG warnings), and the text form of an empty value
//! where Airflow's schema allows no null.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// A DAG's tag, as Airflow's API shows it (`{"name": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tag {
    pub name: String,
}

/// A length of time as Airflow's API writes one: `__type` is always
/// `TimeDelta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimeDelta {
    #[serde(rename = "__type")]
    pub kind: String,
    pub days: i64,
    pub seconds: i64,
    pub microseconds: i64,
}

impl TimeDelta {
    /// `millis` milliseconds, split as Python's `timedelta` splits them.
    pub fn from_millis(millis: u64) -> TimeDelta {
        let total_secs = millis / 1000;
        TimeDelta {
            kind: "TimeDelta".into(),
            days: (total_secs / 86_400) as i64,
            seconds: (total_secs % 86_400) as i64,
            microseconds: ((millis % 1000) * 1000) as i64,
        }
    }
}

/// A schedule as Airflow 2's `schedule_interval`: a cron expression (or a
/// preset such as `@once`) or a `TimeDelta`; null for no schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScheduleInterval {
    Cron(CronExpression),
    Delta(TimeDelta),
}

/// `{"__type": "CronExpression", "value": "0 3 * * *"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CronExpression {
    #[serde(rename = "__type")]
    pub kind: String,
    pub value: String,
}

impl ScheduleInterval {
    pub fn cron(value: impl Into<String>) -> ScheduleInterval {
        ScheduleInterval::Cron(CronExpression {
            kind: "CronExpression".into(),
            value: value.into(),
        })
    }
}

/// An operator's class: its name and the module it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClassReference {
    pub class_name: String,
    pub module_path: String,
}

/// Airflow's import errors: always none, since a DAG file that does not load
/// is refused at push (`GET /importErrors`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportErrorList {
    #[schema(value_type = Vec<Object>)]
    pub import_errors: Vec<serde_json::Value>,
    pub total_entries: usize,
}

/// Airflow's DAG warnings: always none, since nothing produces them after a
/// push (`GET /dagWarnings`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DagWarningList {
    #[schema(value_type = Vec<Object>)]
    pub dag_warnings: Vec<serde_json::Value>,
    pub total_entries: usize,
}

/// For a text field Airflow's schema declares non-null (a task instance's
/// `hostname`): `None` is written `""`, and `""` reads back as `None`.
pub mod empty_as_none {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_deref().unwrap_or(""))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        Ok(text.filter(|t| !t.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_deltas_split_as_python_does() {
        let d = TimeDelta::from_millis(90_061_500);
        assert_eq!((d.days, d.seconds, d.microseconds), (1, 3661, 500_000));
        let text = serde_json::to_string(&ScheduleInterval::cron("@daily")).unwrap();
        assert_eq!(text, r#"{"__type":"CronExpression","value":"@daily"}"#);
    }
}
