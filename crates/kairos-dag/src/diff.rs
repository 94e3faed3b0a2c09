//! What changed between two versions of a DAG: tasks added, removed and changed
//! (by field), DAG-level settings changed, and files added, removed and changed.
//! Pure: the API's diff endpoint and `kairos dags diff` both use it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::VersionContent;

/// One task whose definition differs, with the top-level fields that differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChange {
    pub task_id: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub tasks_added: Vec<String>,
    pub tasks_removed: Vec<String>,
    pub tasks_changed: Vec<TaskChange>,
    /// DAG-level fields that differ (schedule, params, ...), tasks aside.
    pub dag_fields_changed: Vec<String>,
    pub files_added: Vec<String>,
    pub files_removed: Vec<String>,
    pub files_changed: Vec<String>,
}

impl VersionDiff {
    pub fn is_empty(&self) -> bool {
        *self == VersionDiff::default()
    }
}

/// The top-level keys whose values differ between two JSON objects.
fn changed_fields(a: &Value, b: &Value, skip: &[&str]) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return if a == b {
            Vec::new()
        } else {
            vec!["(whole)".into()]
        };
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| !skip.contains(&k.as_str()) && a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// What changed from `old` to `new`.
pub fn diff(old: &VersionContent, new: &VersionContent) -> VersionDiff {
    let mut out = VersionDiff::default();
    let old_ids: BTreeSet<&str> = old.dag.tasks.iter().map(|t| t.task_id.as_str()).collect();
    let new_ids: BTreeSet<&str> = new.dag.tasks.iter().map(|t| t.task_id.as_str()).collect();
    out.tasks_added = new_ids
        .difference(&old_ids)
        .map(|s| s.to_string())
        .collect();
    out.tasks_removed = old_ids
        .difference(&new_ids)
        .map(|s| s.to_string())
        .collect();
    for task in &new.dag.tasks {
        let Some(before) = old.dag.tasks.iter().find(|t| t.task_id == task.task_id) else {
            continue;
        };
        let a = serde_json::to_value(before).unwrap_or(Value::Null);
        let b = serde_json::to_value(task).unwrap_or(Value::Null);
        let fields = changed_fields(&a, &b, &[]);
        if !fields.is_empty() {
            out.tasks_changed.push(TaskChange {
                task_id: task.task_id.clone(),
                fields,
            });
        }
    }
    let a = serde_json::to_value(&old.dag).unwrap_or(Value::Null);
    let b = serde_json::to_value(&new.dag).unwrap_or(Value::Null);
    out.dag_fields_changed = changed_fields(&a, &b, &["tasks"]);
    for (key, hash) in &new.files {
        match old.files.get(key) {
            None => out.files_added.push(key.clone()),
            Some(h) if h != hash => out.files_changed.push(key.clone()),
            Some(_) => {}
        }
    }
    out.files_removed = old
        .files
        .keys()
        .filter(|k| !new.files.contains_key(*k))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_bytes};

    fn version(yaml: &str) -> VersionContent {
        let loaded = load_bytes(
            "d.yml",
            std::path::Path::new("d.yml"),
            yaml.as_bytes(),
            &std::collections::BTreeMap::new(),
            &LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.dags.into_iter().next().expect("a DAG")
    }

    #[test]
    fn added_removed_and_changed_tasks_and_settings() {
        let old = version(
            "d:\n  schedule: '@daily'\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: bash, bash_command: 'echo 1'}\n    b: {operator: bash, bash_command: 'echo 2', dependencies: [a]}\n",
        );
        let new = version(
            "d:\n  schedule: '@hourly'\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: bash, bash_command: 'echo 1', retries: 3}\n    c: {operator: bash, bash_command: 'echo 3', dependencies: [a]}\n",
        );
        let d = diff(&old, &new);
        assert_eq!(d.tasks_added, ["c"]);
        assert_eq!(d.tasks_removed, ["b"]);
        assert_eq!(
            d.tasks_changed,
            [TaskChange {
                task_id: "a".into(),
                fields: vec!["retries".into()]
            }]
        );
        assert_eq!(d.dag_fields_changed, ["schedule"]);
        assert!(diff(&old, &old).is_empty());
    }
}
