//! Reading one task: its structure (operator, dependencies, group), then its settings
//! and its operator put together into a [`TaskDraft`]. The parts live beside it:
//! `settings` (the `BaseOperator` settings), `arguments` (operator arguments and the
//! files they name), `expand` (mapped tasks); what a task inherits is `default_args`.

mod arguments;
mod expand;
mod settings;
mod templates;
mod xcom_args;

use std::collections::HashMap;

use serde_json::Map;

use super::assets::read_refs;
use super::callbacks::{CallbackInput, read_callbacks};
use super::default_args::Inherited;
use super::files::FileRefs;
use super::keys::{IGNORED_TASK_KEYS, TASK_SETTINGS, TASK_STRUCTURE};
use super::read::{MapReader, expect_str, read_string_list, read_text};
use super::sink::{Scope, Sink};
use crate::callback::CallbackKind;
use crate::model::{Task, TaskOperator};
use crate::operator::{
    DECORATORS, Operator, OperatorKind, OperatorRef, VARIANT_ARG, decorator_variant,
    resolve_operator,
};
use crate::yaml::Key;
use crate::yaml::{Node, Pos};

use arguments::{capture_file_args, put_arg, report_arg_errors};
use expand::read_expand;
use settings::read_settings;
use templates::check_templates;
use xcom_args::xcom_args;

/// A task as read, before group prefixes and dependencies are resolved.
pub struct TaskDraft {
    /// The name used in the file (and in `dependencies`).
    pub name: String,
    pub pos: Pos,
    pub group: Option<(String, Pos)>,
    pub dependencies: Vec<(String, Pos)>,
    /// Upstream tasks implied by `expand: {arg: upstream.output}`.
    pub implied_upstream: Vec<(String, Pos)>,
    /// The task, with `task_id` still the plain name and no upstream yet.
    pub task: Task,
    /// Keys of the version files this task needs.
    pub files: Vec<String>,
}

/// Reads a task. `name` and `pos` come from the mapping key or the list item's
/// `task_id`; `body` is the task's mapping.
pub fn read_task(
    name: &str,
    pos: Pos,
    body: &Node,
    inherited: &Inherited<'_>,
    refs: &mut FileRefs<'_>,
    sink: &mut Sink,
    dag_scope: &Scope,
) -> Option<TaskDraft> {
    let scope = dag_scope.task(name);
    let mut r = MapReader::new(body, &format!("task `{name}`"), sink, &scope)?;
    let mark = sink.mark();

    let _ = r.take("task_id");
    let decorator = r.take("decorator");
    if let Some(v) = r.take("variables_as_arguments") {
        sink.error(
            &scope,
            v.pos,
            "`variables_as_arguments` reads Airflow Variables when the file is parsed; Kairos does not",
            Some("use a template instead, e.g. `bash_command: \"{{ var.value.my_var }}\"`".into()),
        );
    }
    let mut variant = None;
    let kind = match (decorator, r.take("operator")) {
        (Some(_), Some(op)) => {
            sink.error(
                &scope,
                op.pos,
                "a TaskFlow task has a `decorator` and no `operator`",
                Some("drop one of them".into()),
            );
            None
        }
        (Some(d), None) => expect_str(d, "decorator", sink, &scope).and_then(|path| {
            if let Some(found) = decorator_variant(&path) {
                variant = found;
                Some(OperatorRef::Builtin(OperatorKind::TaskFlow))
            } else {
                sink.error(
                    &scope,
                    d.pos,
                    format!("`decorator: {path}` is not a TaskFlow decorator Kairos runs"),
                    Some(format!("use one of: {}", DECORATORS.join(", "))),
                );
                None
            }
        }),
        (None, None) => {
            sink.error(
                &scope,
                pos,
                "the task has no `operator`",
                Some(
                    "add e.g. `operator: airflow.providers.standard.operators.bash.BashOperator`"
                        .into(),
                ),
            );
            None
        }
        (None, Some(op)) => expect_str(op, "operator", sink, &scope).and_then(|path| {
            let resolved = resolve_operator(path)
                .map_err(|(msg, hint)| sink.error(&scope, op.pos, msg, hint))
                .ok();
            if let Some(OperatorRef::Custom(class)) = &resolved {
                if class.starts_with("airflow.") {
                    sink.warn(
                        &scope,
                        op.pos,
                        format!(
                            "`{class}` is not an operator Kairos runs itself: it runs as a \
                             custom operator, only where the execution environment has Airflow \
                             and the package that defines it installed"
                        ),
                        None,
                    );
                }
            }
            resolved
        }),
    };
    let dependencies = r
        .take("dependencies")
        .map(|n| read_string_list(n, "dependencies", sink, &scope))
        .unwrap_or_default();
    let group = r
        .take("task_group_name")
        .and_then(|n| read_text(n, "task_group_name", sink, &scope).map(|g| (g, n.pos)));

    let mut asset_files = Vec::new();
    let outlets = r
        .take("outlets")
        .and_then(|n| read_refs(n, "outlets", refs, &mut asset_files, sink, &scope))
        .unwrap_or_default();
    let inlets = r
        .take("inlets")
        .and_then(|n| read_refs(n, "inlets", refs, &mut asset_files, sink, &scope))
        .unwrap_or_default();
    let callbacks = read_callbacks(
        &mut r,
        inherited.default_args,
        &CallbackKind::ALL,
        &mut CallbackInput {
            refs,
            files: &mut asset_files,
            sink,
            scope: &scope,
        },
    );
    let settings = read_settings(&mut r, inherited, sink, &scope).map(|mut t| {
        t.outlets = outlets;
        t.inlets = inlets;
        t.callbacks = callbacks;
        t
    });

    r.warn_ignored(IGNORED_TASK_KEYS, sink, &scope);

    let partial = r.take_with_key("partial");
    let expand = r.take_with_key("expand");
    // Whatever is left is the operator's arguments.
    let rest = r.take_remaining();
    let kind = match kind? {
        OperatorRef::Builtin(kind) => kind,
        OperatorRef::Custom(class) => {
            return read_custom_task(
                CustomTask {
                    name,
                    pos,
                    class,
                    group,
                    dependencies,
                    settings,
                    partial,
                    expand,
                    files: asset_files,
                },
                &rest,
                mark,
                sink,
                &scope,
            );
        }
    };

    let mut args = Map::new();
    let mut arg_pos: HashMap<String, Pos> = HashMap::new();
    let mut value_pos: HashMap<String, Pos> = HashMap::new();
    // Every argument that cannot be read is reported; the mark tells at the end.
    for (k, v) in &rest {
        value_pos.insert(k.name.clone(), v.pos);
        put_arg(&mut args, &mut arg_pos, k, v, sink, &scope);
    }
    if let Some((pk, pnode)) = partial {
        match pnode.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    if args.contains_key(&k.name) {
                        sink.error(
                            &scope,
                            k.pos,
                            format!("`{}` is given both in `partial` and on the task", k.name),
                            None,
                        );
                    } else {
                        put_arg(&mut args, &mut arg_pos, k, v, sink, &scope);
                    }
                }
            }
            None => {
                sink.error(
                    &scope,
                    pk.pos,
                    "`partial` must be a mapping of operator arguments",
                    None,
                );
            }
        }
    }
    if let Some(variant) = variant {
        args.insert(
            VARIANT_ARG.to_string(),
            serde_json::Value::String(variant.to_string()),
        );
    }
    // default_args hold operator arguments too (Airflow applies each where the operator takes it).
    let accepted = Operator::argument_names(kind);
    if let Some(Node {
        value: crate::yaml::Value::Map(defaults),
        ..
    }) = inherited.default_args
    {
        // An argument the task expands is not fixed by a default.
        let expanded = |name: &str| expand.is_some_and(|(_, e)| e.get(name).is_some());
        for (k, v) in defaults {
            if accepted.contains(&k.name.as_str())
                && !args.contains_key(&k.name)
                && !expanded(&k.name)
            {
                put_arg(&mut args, &mut arg_pos, k, v, sink, &scope);
            }
        }
    }

    let mut where_ = arg_pos.clone();
    where_.extend(value_pos.iter().map(|(k, p)| (k.clone(), *p)));
    check_templates(&args, &where_, pos, sink, &scope);
    let mut implied_upstream = Vec::new();
    if kind == OperatorKind::TaskFlow {
        xcom_args(&mut args, &where_, pos, &mut implied_upstream, sink, &scope);
    }
    let mut files = asset_files;
    if !capture_file_args(kind, &mut args, &value_pos, refs, &mut files, sink, &scope) {
        // The missing file is the problem; the operator's checks would only repeat it.
        return None;
    }

    let also_known: Vec<&str> = TASK_SETTINGS
        .iter()
        .chain(TASK_STRUCTURE)
        .copied()
        .collect();
    let operator = match expand {
        None => match Operator::parse(kind, &args, refs.all(), &also_known) {
            Ok(op) => Some(TaskOperator::Plain { operator: op }),
            Err(errs) => {
                report_arg_errors(&errs, &arg_pos, pos, sink, &scope);
                None
            }
        },
        Some((ek, enode)) => read_expand(
            kind,
            ek,
            enode,
            args,
            &arg_pos,
            &accepted,
            refs,
            &mut files,
            &mut implied_upstream,
            sink,
            &scope,
        )
        .map(TaskOperator::Mapped),
    };

    if sink.errors_since(mark) {
        return None;
    }
    let mut task = settings?;
    task.operator = operator?;
    Some(TaskDraft {
        name: name.to_string(),
        pos,
        group,
        dependencies,
        implied_upstream,
        task,
        files,
    })
}

/// What `read_task` has read of a task whose operator is a custom class.
struct CustomTask<'a> {
    name: &'a str,
    pos: Pos,
    class: String,
    group: Option<(String, Pos)>,
    dependencies: Vec<(String, Pos)>,
    settings: Option<Task>,
    partial: Option<(&'a Key, &'a Node)>,
    expand: Option<(&'a Key, &'a Node)>,
    /// Files its outlets, inlets and callbacks name.
    files: Vec<String>,
}

/// A custom operator's task: every key that is not a task setting (or structure)
/// is an argument of the class, as written. `default_args` give it no arguments
/// (which ones its constructor takes is known only on the worker), and mapping it
/// is not supported yet.
fn read_custom_task(
    t: CustomTask<'_>,
    rest: &[&(Key, Node)],
    mark: usize,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<TaskDraft> {
    if let Some((ek, _)) = t.expand {
        sink.error(
            scope,
            ek.pos,
            format!(
                "`expand` is not supported yet for a custom operator ({})",
                t.class
            ),
            Some("map a PythonOperator that calls your code instead".into()),
        );
    }
    if let Some((pk, _)) = t.partial {
        sink.error(
            scope,
            pk.pos,
            "`partial` goes with `expand`, which custom operators do not support yet",
            Some("write the arguments on the task itself".into()),
        );
    }
    let mut args = Map::new();
    let mut arg_pos: HashMap<String, Pos> = HashMap::new();
    for (k, v) in rest {
        put_arg(&mut args, &mut arg_pos, k, v, sink, scope);
    }
    let operator = match Operator::custom(&t.class, &args) {
        Ok(op) => Some(op),
        Err(errs) => {
            report_arg_errors(&errs, &arg_pos, t.pos, sink, scope);
            None
        }
    };
    if sink.errors_since(mark) {
        return None;
    }
    let mut task = t.settings?;
    task.operator = TaskOperator::Plain {
        operator: operator?,
    };
    Some(TaskDraft {
        name: t.name.to_string(),
        pos: t.pos,
        group: t.group,
        dependencies: t.dependencies,
        implied_upstream: Vec::new(),
        task,
        files: t.files,
    })
}
