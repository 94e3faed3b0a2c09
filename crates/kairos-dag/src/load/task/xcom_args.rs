//! A TaskFlow task's arguments that are other tasks' results (`+task_id`,
//! `+task_id['key']`): each becomes a marker the worker resolves before the call,
//! and a dependency on that task, as Airflow's `XComArg` makes one.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::super::sink::{Scope, Sink};
use crate::operator::XComArg;
use crate::yaml::Pos;

/// Replaces every reference in `args` (nested lists and mappings too) with its
/// marker, and notes the task it names.
pub(super) fn xcom_args(
    args: &mut Map<String, Json>,
    pos: &HashMap<String, Pos>,
    at: Pos,
    upstream: &mut Vec<(String, Pos)>,
    sink: &mut Sink,
    scope: &Scope,
) {
    for (name, value) in args.iter_mut() {
        let where_ = pos.get(name).copied().unwrap_or(at);
        replace(value, &mut |text| match XComArg::parse(text) {
            None => None,
            Some(Ok(x)) => {
                if !upstream.iter().any(|(t, _)| *t == x.task_id) {
                    upstream.push((x.task_id.clone(), where_));
                }
                Some(x.marker())
            }
            Some(Err(e)) => {
                sink.error(scope, where_, format!("`{name}`: {e}"), None);
                None
            }
        });
    }
}

fn replace(value: &mut Json, f: &mut dyn FnMut(&str) -> Option<Json>) {
    match value {
        Json::String(s) => {
            if let Some(new) = f(s) {
                *value = new;
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| replace(v, f)),
        Json::Object(map) => map.values_mut().for_each(|v| replace(v, f)),
        _ => {}
    }
}
