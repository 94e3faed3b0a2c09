//! Mapped tasks: `expand` (literal lists or an upstream's output) over the fixed
//! arguments, checked with a sample instance, into a [`MappedOperator`].

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::arguments::{capture, report_arg_errors};
use crate::load::files::FileRefs;
use crate::load::read::read_json;
use crate::load::sink::{Scope, Sink};
use crate::model::{MapSource, MappedOperator};
use crate::operator::bash::is_script_path;
use crate::operator::{ArgError, Operator, OperatorKind};
use crate::yaml::{Key, Node, Pos};

/// `expand: {arg: [literal list] | upstream.output | XcomArg(upstream)}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_expand(
    kind: OperatorKind,
    key: &Key,
    node: &Node,
    partial: Map<String, Json>,
    arg_pos: &HashMap<String, Pos>,
    accepted: &[&str],
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    implied_upstream: &mut Vec<(String, Pos)>,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<MappedOperator> {
    let Some(entries) = node.as_map() else {
        sink.error(
            scope,
            key.pos,
            "`expand` must map operator arguments to lists",
            None,
        );
        return None;
    };
    if entries.is_empty() {
        sink.error(scope, key.pos, "`expand` is empty", None);
        return None;
    }
    let mut expand = Vec::new();
    let mut sample = partial.clone();
    let mut from_xcom = Vec::new();
    for (k, v) in entries {
        // A TaskFlow function takes any keyword argument.
        if kind != OperatorKind::TaskFlow && !accepted.contains(&k.name.as_str()) {
            sink.error(
                scope,
                k.pos,
                format!(
                    "`{}` is not an argument of {kind}, so it cannot be expanded",
                    k.name
                ),
                crate::suggest::did_you_mean(&k.name, accepted.iter().copied()),
            );
            return None;
        }
        if partial.contains_key(&k.name) {
            sink.error(
                scope,
                k.pos,
                format!("`{}` is both expanded and fixed", k.name),
                None,
            );
            return None;
        }
        let source = match &v.value {
            crate::yaml::Value::Seq(_) => {
                let mut values = match read_json(v, &k.name, sink, scope)? {
                    Json::Array(items) => items,
                    _ => return None,
                };
                // Script paths among expanded bash commands ship like a plain task's.
                if kind == OperatorKind::Bash && k.name == "bash_command" {
                    for value in values.iter_mut() {
                        let Json::String(cmd) = value else { continue };
                        if !is_script_path(cmd) {
                            continue;
                        }
                        match capture(refs, files, cmd) {
                            Ok(file_key) => *value = Json::String(file_key),
                            Err(e) => {
                                sink.error(
                                    scope,
                                    v.pos,
                                    format!("`expand.bash_command`: {e}"),
                                    None,
                                );
                                return None;
                            }
                        }
                    }
                }
                if let Some(first) = values.first() {
                    sample.insert(k.name.clone(), first.clone());
                }
                MapSource::Literal { values }
            }
            crate::yaml::Value::Str(s) => match xcom_reference(s) {
                Some(task) => {
                    implied_upstream.push((task.clone(), v.pos));
                    from_xcom.push(k.name.clone());
                    MapSource::Xcom { task_id: task }
                }
                None => {
                    sink.error(
                        scope,
                        v.pos,
                        format!(
                            "`expand.{}` must be a list, `<task>.output` or `+task`, found `{s}`",
                            k.name
                        ),
                        None,
                    );
                    return None;
                }
            },
            other => {
                sink.error(
                    scope,
                    v.pos,
                    format!(
                        "`expand.{}` must be a list or `<task>.output`, found {}",
                        k.name,
                        other.kind()
                    ),
                    None,
                );
                return None;
            }
        };
        expand.push((k.name.clone(), source));
    }
    // Validate the fixed arguments with the first literal element of each expanded one;
    // values that come from an XCom are checked when the instances are created.
    let errs: Vec<ArgError> = match Operator::parse(kind, &sample, refs.all(), &[]) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .into_iter()
            .filter(|e| !e.key.as_ref().is_some_and(|k| from_xcom.contains(k)))
            .collect(),
    };
    if !errs.is_empty() {
        report_arg_errors(&errs, arg_pos, key.pos, sink, scope);
        return None;
    }
    Some(MappedOperator {
        kind,
        partial: partial.into_iter().collect(),
        expand,
    })
}

/// `upstream.output` or `XcomArg(upstream)` (dag-factory's spellings) to the task name.
fn xcom_reference(text: &str) -> Option<String> {
    let t = text.trim();
    // TaskFlow's `+task` (a task's return value).
    if let Some(Ok(x)) = crate::operator::XComArg::parse(t) {
        return (x.key == "return_value").then_some(x.task_id);
    }
    let name = t
        .strip_suffix(".output")
        .or_else(|| t.strip_prefix("XcomArg(").and_then(|r| r.strip_suffix(')')))
        .or_else(|| t.strip_prefix("XComArg(").and_then(|r| r.strip_suffix(')')))?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}
