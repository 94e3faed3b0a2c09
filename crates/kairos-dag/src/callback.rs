//! Airflow's callbacks (`on_success_callback` and the rest) as a DAG version
//! keeps them: which Python function each one calls, with what keyword
//! arguments. The worker runs them after the attempt's outcome is known, in the
//! DAG's execution environment; a callback never changes a task's state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::operator::PythonCallable;

/// One callback: a function (or an Airflow notifier class) and the keyword
/// arguments dag-factory's `{callback: path, **kwargs}` form gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub target: PythonCallable,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kwargs: BTreeMap<String, Value>,
}

/// When a callback runs, as Airflow names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// Before the task's work starts.
    Execute,
    Success,
    /// A failure with no try left (or one that must not be retried).
    Failure,
    /// A failure that will be retried.
    Retry,
    /// The task skipped itself (`AirflowSkipException`).
    Skipped,
}

impl CallbackKind {
    pub const ALL: [CallbackKind; 5] = [
        CallbackKind::Execute,
        CallbackKind::Success,
        CallbackKind::Failure,
        CallbackKind::Retry,
        CallbackKind::Skipped,
    ];

    /// The key Airflow and dag-factory write: `on_success_callback`, ...
    pub fn key(self) -> &'static str {
        match self {
            CallbackKind::Execute => "on_execute_callback",
            CallbackKind::Success => "on_success_callback",
            CallbackKind::Failure => "on_failure_callback",
            CallbackKind::Retry => "on_retry_callback",
            CallbackKind::Skipped => "on_skipped_callback",
        }
    }
}

/// The callbacks of a task (all five kinds) or of a DAG (success and failure).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Callbacks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_execute: Vec<Callback>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_success: Vec<Callback>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<Callback>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_retry: Vec<Callback>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_skipped: Vec<Callback>,
}

impl Callbacks {
    pub fn is_empty(&self) -> bool {
        CallbackKind::ALL.iter().all(|k| self.of(*k).is_empty())
    }

    pub fn of(&self, kind: CallbackKind) -> &[Callback] {
        match kind {
            CallbackKind::Execute => &self.on_execute,
            CallbackKind::Success => &self.on_success,
            CallbackKind::Failure => &self.on_failure,
            CallbackKind::Retry => &self.on_retry,
            CallbackKind::Skipped => &self.on_skipped,
        }
    }

    pub fn of_mut(&mut self, kind: CallbackKind) -> &mut Vec<Callback> {
        match kind {
            CallbackKind::Execute => &mut self.on_execute,
            CallbackKind::Success => &mut self.on_success,
            CallbackKind::Failure => &mut self.on_failure,
            CallbackKind::Retry => &mut self.on_retry,
            CallbackKind::Skipped => &mut self.on_skipped,
        }
    }
}

impl Callback {
    /// The callback as messages name it: `notify.alert`, or `alert` in `cb.py`.
    pub fn describe(&self) -> String {
        self.target.describe()
    }
}
