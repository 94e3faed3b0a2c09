//! Old names of settings (`schedule_interval`, `concurrency`, dag-factory 0.x's
//! `*_sec` keys) renamed to the current ones before anything is merged.
//!
//! Renaming first makes "the DAG's own key wins over the `default:` block" hold
//! whichever name each side used, and lets one place refuse a mapping that gives
//! both names of one setting.

use super::sink::{Scope, Sink};
use crate::yaml::{Node, Value};

/// DAG keys: (old name, current name).
const DAG_ALIASES: &[(&str, &str)] = &[
    ("schedule_interval", "schedule"),
    ("timetable", "schedule"),
    ("concurrency", "max_active_tasks"),
    ("dagrun_timeout_sec", "dagrun_timeout"),
];

/// Task and `default_args` keys: (old name, current name).
const TASK_ALIASES: &[(&str, &str)] = &[
    ("retry_delay_sec", "retry_delay"),
    ("execution_timeout_secs", "execution_timeout"),
    ("task_concurrency", "max_active_tis_per_dag"),
];

/// Renames old keys of a DAG mapping (or a `default:` block), of its `default_args`,
/// of its tasks (list or mapping form) and of its task groups' `default_args`.
pub fn canonicalize_dag(node: &mut Node, sink: &mut Sink, scope: &Scope) {
    rename(node, DAG_ALIASES, sink, scope);
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    for (key, value) in entries.iter_mut() {
        match key.name.as_str() {
            "default_args" => rename(value, TASK_ALIASES, sink, scope),
            "tasks" => for_each_item(value, |task| rename(task, TASK_ALIASES, sink, scope)),
            "task_groups" => for_each_item(value, |group| {
                if let Value::Map(g) = &mut group.value {
                    for (k, v) in g.iter_mut() {
                        if k.name == "default_args" {
                            rename(v, TASK_ALIASES, sink, scope);
                        }
                    }
                }
            }),
            _ => {}
        }
    }
}

/// Calls `f` on each item of a list, or each value of a mapping.
fn for_each_item(node: &mut Node, mut f: impl FnMut(&mut Node)) {
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(&mut f),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| f(v)),
        _ => {}
    }
}

fn rename(node: &mut Node, table: &[(&str, &str)], sink: &mut Sink, scope: &Scope) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    for (old, new) in table {
        let Some(i) = entries.iter().position(|(k, _)| k.name == *old) else {
            continue;
        };
        if let Some((existing, _)) = entries.iter().find(|(k, _)| k.name == *new) {
            sink.error(
                scope,
                entries[i].0.pos,
                format!(
                    "`{old}` is the old name of `{new}`, which is also given (line {}); keep one",
                    existing.pos.line
                ),
                None,
            );
            entries.remove(i);
            continue;
        }
        entries[i].0.name = (*new).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn old_names_become_current_ones_everywhere() {
        let mut doc = parse(
            "d:\n  schedule_interval: '@daily'\n  concurrency: 3\n  default_args: {retry_delay_sec: 10}\n  tasks:\n    - {task_id: t, execution_timeout_secs: 5}\n  task_groups:\n    g: {default_args: {task_concurrency: 2}}\n",
        )
        .expect("yaml");
        let mut sink = Sink::new("t.yml");
        let mut dag = doc.get("d").cloned().expect("d");
        canonicalize_dag(&mut dag, &mut sink, &Scope::default());
        assert!(sink.diagnostics.is_empty());
        assert!(dag.get("schedule").is_some() && dag.get("max_active_tasks").is_some());
        assert!(
            dag.get("default_args")
                .and_then(|d| d.get("retry_delay"))
                .is_some()
        );
        let task = &dag.get("tasks").and_then(Node::as_seq).expect("tasks")[0];
        assert!(task.get("execution_timeout").is_some());
        let g = dag.get("task_groups").and_then(|g| g.get("g")).expect("g");
        assert!(
            g.get("default_args")
                .and_then(|d| d.get("max_active_tis_per_dag"))
                .is_some()
        );
        // Both names in one mapping is an error.
        doc = parse("d:\n  schedule: '@daily'\n  schedule_interval: '@hourly'\n").expect("yaml");
        let mut dag = doc.get("d").cloned().expect("d");
        canonicalize_dag(&mut dag, &mut sink, &Scope::default());
        assert_eq!(sink.diagnostics.len(), 1);
        assert!(
            sink.diagnostics[0]
                .message
                .contains("old name of `schedule`")
        );
    }
}
