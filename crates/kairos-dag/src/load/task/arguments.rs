//! A task's operator arguments: each argument node as JSON with the place it was
//! written, the files arguments name (captured into the version), and the operator's
//! complaints put back at the argument they are about.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::load::files::FileRefs;
use crate::load::read::read_json;
use crate::load::sink::{Scope, Sink};
use crate::operator::bash::is_script_path;
use crate::operator::{ArgError, OperatorKind};
use crate::yaml::{Key, Node, Pos};

/// Converts one argument node to JSON, remembering where it was written (a value
/// that cannot be converted is reported).
pub(super) fn put_arg(
    args: &mut Map<String, Json>,
    arg_pos: &mut HashMap<String, Pos>,
    key: &Key,
    value: &Node,
    sink: &mut Sink,
    scope: &Scope,
) {
    arg_pos.insert(key.name.clone(), key.pos);
    // Durations may be written as timedelta objects; the operator reads those itself.
    let json = if value.get("__type__").and_then(Node::as_str) == Some("datetime.timedelta") {
        Some(value.to_json())
    } else {
        read_json(value, &key.name, sink, scope)
    };
    if let Some(j) = json {
        args.insert(key.name.clone(), j);
    }
}

/// Reads the file an argument names into the version and replaces the argument
/// with the file's key: `python_callable_file`, and a `bash_command` that names a
/// script (Airflow's `.sh` / `.bash` template files). False if a file could not be captured.
pub(super) fn capture_file_args(
    kind: OperatorKind,
    args: &mut Map<String, Json>,
    arg_pos: &HashMap<String, Pos>,
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    sink: &mut Sink,
    scope: &Scope,
) -> bool {
    let mut ok = true;
    let mut file_keys: Vec<&str> = kind.file_arguments().to_vec();
    if kind == OperatorKind::Bash
        && args
            .get("bash_command")
            .and_then(Json::as_str)
            .is_some_and(is_script_path)
    {
        file_keys.push("bash_command");
    }
    for key in file_keys {
        let Some(Json::String(written)) = args.get(key).cloned() else {
            continue;
        };
        match capture(refs, files, &written) {
            Ok(file_key) => {
                args.insert(key.to_string(), Json::String(file_key));
            }
            Err(e) => {
                let pos = arg_pos.get(key).copied().unwrap_or_default();
                sink.error(scope, pos, format!("`{key}`: {e}"), None);
                ok = false;
            }
        }
    }
    ok
}

/// Captures one referenced file into the version and notes its key for the task.
pub(super) fn capture(
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    written: &str,
) -> Result<String, String> {
    let key = refs.capture(written)?;
    files.push(key.clone());
    Ok(key)
}

pub(super) fn report_arg_errors(
    errs: &[ArgError],
    arg_pos: &HashMap<String, Pos>,
    task_pos: Pos,
    sink: &mut Sink,
    scope: &Scope,
) {
    for e in errs {
        let pos = e
            .key
            .as_ref()
            .and_then(|k| arg_pos.get(k))
            .copied()
            .unwrap_or(task_pos);
        sink.error(scope, pos, e.message.clone(), e.hint.clone());
    }
}
