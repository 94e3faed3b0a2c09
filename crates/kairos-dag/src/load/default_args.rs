//! `default_args`: what a task inherits (the DAG's mapping with its groups' merged
//! over it), which keys the mapping may hold, and the check of a written one.

use super::keys::{CALLBACK_KEYS, IGNORED_TASK_KEYS, TASK_SETTINGS, ignored_reason};
use super::sink::{Scope, Sink};
use crate::operator::{Operator, OperatorKind};
use crate::yaml::Node;

/// What a task inherits: the effective `default_args` mapping (DAG's, with its
/// groups' merged over it), or nothing.
pub struct Inherited<'a> {
    pub default_args: Option<&'a Node>,
}

impl Inherited<'_> {
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        self.default_args.and_then(|d| d.get(key))
    }
}

/// Every key that may appear in `default_args`: task settings, DAG dates, ignored
/// Airflow keys, and any supported operator's arguments.
pub fn default_args_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = TASK_SETTINGS.to_vec();
    keys.extend(["start_date", "end_date", "timezone"]);
    keys.extend(IGNORED_TASK_KEYS.iter().map(|(k, _)| *k));
    for (_, key, name, file) in CALLBACK_KEYS {
        keys.extend([*key, *name, *file]);
    }
    for kind in OperatorKind::all() {
        keys.extend(Operator::argument_names(kind));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Checks the keys of a `default_args` mapping: unknown keys are errors, DAG keys
/// written there get told where they belong, ignored Airflow keys get a warning.
pub fn check_default_args(node: &Node, sink: &mut Sink, scope: &Scope) {
    let Some(entries) = node.as_map() else {
        if !node.is_null() {
            sink.error(
                scope,
                node.pos,
                format!(
                    "`default_args` must be a mapping, found {}",
                    node.value.kind()
                ),
                None,
            );
        }
        return;
    };
    let known = default_args_keys();
    for (k, _) in entries {
        let name = k.name.as_str();
        if super::keys::DAG_ONLY_KEYS.contains(&name) {
            sink.warn(
                scope,
                k.pos,
                format!("`{name}` is a DAG setting and has no effect in `default_args` (Airflow ignores it there too)"),
                Some(format!("move `{name}` out of `default_args`, to the DAG itself")),
            );
        } else if let Some(why) = ignored_reason(IGNORED_TASK_KEYS, name) {
            if !matches!(name, "start_date" | "end_date") {
                sink.warn(
                    scope,
                    k.pos,
                    format!("`{name}` has no effect in Kairos: {why}"),
                    None,
                );
            }
        } else if !known.contains(&name) {
            sink.error(
                scope,
                k.pos,
                format!("unknown key `{name}` in default_args"),
                crate::suggest::did_you_mean(name, known.iter().copied()),
            );
        }
    }
}
