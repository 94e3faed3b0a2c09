//! Callbacks as Airflow and dag-factory write them, on a task, a DAG, a task
//! group's or a DAG's `default_args`: `on_success_callback: module.fn`, a list
//! of those, `{callback: module.fn, **kwargs}`, or `on_success_callback_name`
//! with `on_success_callback_file`. The task's own keys of a kind win over the
//! inherited ones, as Airflow's `default_args` do. Nothing is imported here:
//! only the names are checked, and a file is shipped with the version.

use std::collections::BTreeMap;

use super::files::FileRefs;
use super::keys::CALLBACK_KEYS;
use super::read::{MapReader, read_json};
use super::sink::{Scope, Sink};
use crate::callback::{Callback, CallbackKind, Callbacks};
use crate::operator::{PythonCallable, is_python_identifier, split_dotted};
use crate::yaml::Node;

/// Where a kind's callback may be written: the value, `_name`, `_file`.
struct Written<'n> {
    value: Option<&'n Node>,
    name: Option<&'n Node>,
    file: Option<&'n Node>,
}

impl Written<'_> {
    fn is_empty(&self) -> bool {
        self.value.is_none() && self.name.is_none() && self.file.is_none()
    }
}

/// What reading callbacks needs besides the keys: the files they name, and
/// where problems go.
pub(super) struct CallbackInput<'a, 'r> {
    pub refs: &'a mut FileRefs<'r>,
    pub files: &'a mut Vec<String>,
    pub sink: &'a mut Sink,
    pub scope: &'a Scope,
}

/// The callbacks of `kinds` from `r`'s own keys, else from `inherited`
/// (the effective `default_args`).
pub(super) fn read_callbacks(
    r: &mut MapReader<'_>,
    inherited: Option<&Node>,
    kinds: &[CallbackKind],
    input: &mut CallbackInput<'_, '_>,
) -> Callbacks {
    let mut callbacks = Callbacks::default();
    for &(kind, key, name_key, file_key) in CALLBACK_KEYS {
        if !kinds.contains(&kind) {
            continue;
        }
        let own = Written {
            value: r.take(key),
            name: r.take(name_key),
            file: r.take(file_key),
        };
        let written = if own.is_empty() {
            Written {
                value: inherited.and_then(|d| d.get(key)),
                name: inherited.and_then(|d| d.get(name_key)),
                file: inherited.and_then(|d| d.get(file_key)),
            }
        } else {
            own
        };
        *callbacks.of_mut(kind) = read_kind(key, &written, input).unwrap_or_default();
    }
    callbacks
}

fn read_kind(
    key: &str,
    written: &Written<'_>,
    input: &mut CallbackInput<'_, '_>,
) -> Option<Vec<Callback>> {
    match (written.value, written.name, written.file) {
        (None, None, None) => Some(Vec::new()),
        (Some(value), None, None) => read_value(key, value, input),
        (None, Some(name), Some(file)) => {
            read_name_and_file(key, name, file, input).map(|c| vec![c])
        }
        (Some(value), _, _) => {
            input.sink.error(
                input.scope,
                value.pos,
                format!("give either `{key}` or `{key}_name` with `{key}_file`, not both"),
                None,
            );
            None
        }
        (None, Some(half), None) | (None, None, Some(half)) => {
            input.sink.error(
                input.scope,
                half.pos,
                format!("`{key}_name` and `{key}_file` go together: the function's name and the file that defines it"),
                Some(format!(
                    "add the other one, e.g. `{key}_file: $CONFIG_ROOT_DIR/callbacks.py`"
                )),
            );
            None
        }
    }
}

/// `module.fn`, `{callback: module.fn, **kwargs}`, a list of those, or null
/// (none: a task's own `null` turns off an inherited callback).
fn read_value(key: &str, node: &Node, input: &mut CallbackInput<'_, '_>) -> Option<Vec<Callback>> {
    if node.is_null() {
        return Some(Vec::new());
    }
    if let Some(items) = node.as_seq() {
        let mut all = Vec::new();
        for item in items {
            all.push(read_entry(key, item, input)?);
        }
        return Some(all);
    }
    read_entry(key, node, input).map(|c| vec![c])
}

fn read_entry(key: &str, node: &Node, input: &mut CallbackInput<'_, '_>) -> Option<Callback> {
    let hint = || {
        Some(format!(
            "write `{key}: package.module.function` (imported from the DAG's bundle on the \
             worker), `{key}: {{callback: package.module.function, arg: value}}`, or \
             `{key}_name` with `{key}_file`"
        ))
    };
    if let Some(path) = node.as_str() {
        return dotted(key, path, node, input, hint);
    }
    let Some(entries) = node.as_map() else {
        input.sink.error(
            input.scope,
            node.pos,
            format!(
                "`{key}` must be an import path or a mapping with `callback`, found {}",
                node.value.kind()
            ),
            hint(),
        );
        return None;
    };
    let Some(path_node) = node.get("callback") else {
        input.sink.error(
            input.scope,
            node.pos,
            format!(
                "`{key}` is a mapping without a `callback` key (the import path of the function)"
            ),
            hint(),
        );
        return None;
    };
    let Some(path) = path_node.as_str() else {
        input.sink.error(
            input.scope,
            path_node.pos,
            format!(
                "`{key}.callback` must be an import path, found {}",
                path_node.value.kind()
            ),
            hint(),
        );
        return None;
    };
    let mut callback = dotted(key, path, path_node, input, hint)?;
    let mut kwargs = BTreeMap::new();
    for (k, v) in entries {
        if k.name != "callback" {
            kwargs.insert(
                k.name.clone(),
                read_json(v, &format!("{key}.{}", k.name), input.sink, input.scope)?,
            );
        }
    }
    callback.kwargs = kwargs;
    Some(callback)
}

fn dotted(
    key: &str,
    path: &str,
    node: &Node,
    input: &mut CallbackInput<'_, '_>,
    hint: impl Fn() -> Option<String>,
) -> Option<Callback> {
    match split_dotted(path.trim()) {
        Ok((module, name)) => Some(Callback {
            target: PythonCallable::Module { module, name },
            kwargs: BTreeMap::new(),
        }),
        Err(why) => {
            input.sink.error(
                input.scope,
                node.pos,
                format!("`{key}: {path}`: {why}"),
                hint(),
            );
            None
        }
    }
}

fn read_name_and_file(
    key: &str,
    name: &Node,
    file: &Node,
    input: &mut CallbackInput<'_, '_>,
) -> Option<Callback> {
    let (Some(name_text), Some(file_text)) = (name.as_str(), file.as_str()) else {
        input.sink.error(
            input.scope,
            name.pos,
            format!("`{key}_name` and `{key}_file` must be text"),
            None,
        );
        return None;
    };
    if !is_python_identifier(name_text.trim()) {
        input.sink.error(
            input.scope,
            name.pos,
            format!("`{key}_name: {name_text}` is not a Python function name"),
            None,
        );
        return None;
    }
    match input.refs.capture(file_text) {
        Ok(file_key) => {
            input.files.push(file_key.clone());
            Some(Callback {
                target: PythonCallable::File {
                    file: file_key,
                    name: name_text.trim().to_string(),
                },
                kwargs: BTreeMap::new(),
            })
        }
        Err(why) => {
            input
                .sink
                .error(input.scope, file.pos, format!("`{key}_file`: {why}"), None);
            None
        }
    }
}
