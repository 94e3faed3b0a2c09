//! The templates in a task's arguments, checked at load time: one that does not
//! parse, or names a variable the task's context lacks (Airflow 2's
//! `execution_date`, `next_ds`, ... or a typo), is an error at its line, with what
//! to write instead, rather than a task that fails when it runs.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::super::sink::{Scope, Sink};
use crate::template::unknown_names;
use crate::yaml::Pos;

/// Reports every problem of the templates in `args` (nested lists and mappings
/// too); `pos` gives each argument's place, `at` the task's.
pub(super) fn check_templates(
    args: &Map<String, Json>,
    pos: &HashMap<String, Pos>,
    at: Pos,
    sink: &mut Sink,
    scope: &Scope,
) {
    for (name, value) in args {
        let where_ = pos.get(name).copied().unwrap_or(at);
        let mut seen = Vec::new();
        walk(value, &mut |text| {
            if !(text.contains("{{") || text.contains("{%")) {
                return;
            }
            match unknown_names(text) {
                Ok(unknown) => {
                    for u in unknown {
                        if seen.contains(&u.name) {
                            continue;
                        }
                        sink.error(
                            scope,
                            where_,
                            format!("`{name}`: {}", u.message()),
                            u.hint(),
                        );
                        seen.push(u.name);
                    }
                }
                Err(e) => sink.error(
                    scope,
                    where_,
                    format!("`{name}`: the template does not parse: {e}"),
                    None,
                ),
            }
        });
    }
}

fn walk(value: &Json, f: &mut dyn FnMut(&str)) {
    match value {
        Json::String(s) => f(s),
        Json::Array(items) => items.iter().for_each(|v| walk(v, f)),
        Json::Object(map) => map.values().for_each(|v| walk(v, f)),
        _ => {}
    }
}
