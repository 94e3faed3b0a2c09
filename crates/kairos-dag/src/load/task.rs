//! Reading one task: its structure (operator, dependencies, group), its
//! `BaseOperator` settings (task first, then the effective `default_args`, then
//! Airflow's default), and its operator arguments, validated into a typed operator.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::files::FileRefs;
use super::keys::{IGNORED_TASK_KEYS, TASK_SETTINGS, TASK_STRUCTURE, ignored_reason};
use super::read::{
    MapReader, expect_str, read_bool, read_duration, read_i32, read_json, read_json_map,
    read_string_list, read_text, read_u32,
};
use super::sink::{Scope, Sink};
use crate::model::{MapSource, MappedOperator, Task, TaskOperator, WeightRule, defaults};
use crate::operator::bash::is_script_path;
use crate::operator::{ArgError, Operator, OperatorKind};
use crate::trigger_rule::TriggerRule;
use crate::yaml::{Key, Node, Pos};

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

/// What a task inherits: the effective `default_args` mapping (DAG's, with its
/// groups' merged over it), or nothing.
pub struct Inherited<'a> {
    pub default_args: Option<&'a Node>,
}

impl Inherited<'_> {
    fn get(&self, key: &str) -> Option<&Node> {
        self.default_args.and_then(|d| d.get(key))
    }
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
    if let Some(d) = r.take("decorator") {
        sink.error(
            &scope,
            d.pos,
            "TaskFlow `decorator` tasks are not supported yet",
            Some(
                "use `operator: airflow.providers.standard.operators.python.PythonOperator` with \
                  `python_callable_name` and `python_callable_file`"
                    .into(),
            ),
        );
        return None;
    }
    if let Some(v) = r.take("variables_as_arguments") {
        sink.error(
            &scope,
            v.pos,
            "`variables_as_arguments` reads Airflow Variables when the file is parsed; Kairos does not",
            Some("use a template instead, e.g. `bash_command: \"{{ var.value.my_var }}\"`".into()),
        );
    }
    let kind = match r.take("operator") {
        None => {
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
        Some(op) => expect_str(op, "operator", sink, &scope).and_then(|path| {
            OperatorKind::from_path(path)
                .map_err(|(msg, hint)| sink.error(&scope, op.pos, msg, hint))
                .ok()
        }),
    };
    let dependencies = r
        .take("dependencies")
        .map(|n| read_string_list(n, "dependencies", sink, &scope))
        .unwrap_or_default();
    let group = r
        .take("task_group_name")
        .and_then(|n| read_text(n, "task_group_name", sink, &scope).map(|g| (g, n.pos)));

    let settings = read_settings(&mut r, inherited, sink, &scope);

    r.warn_ignored(IGNORED_TASK_KEYS, sink, &scope);

    let partial = r.take_with_key("partial");
    let expand = r.take_with_key("expand");
    // Whatever is left is the operator's arguments.
    let rest = r.take_remaining();
    let kind = kind?;

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

    let mut files = Vec::new();
    if !capture_file_args(kind, &mut args, &value_pos, refs, &mut files, sink, &scope) {
        // The missing file is the problem; the operator's checks would only repeat it.
        return None;
    }

    let also_known: Vec<&str> = TASK_SETTINGS
        .iter()
        .chain(TASK_STRUCTURE)
        .copied()
        .collect();
    let mut implied_upstream = Vec::new();
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

/// Converts one argument node to JSON, remembering where it was written (a value
/// that cannot be converted is reported).
fn put_arg(
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
fn capture_file_args(
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
fn capture(
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    written: &str,
) -> Result<String, String> {
    let key = refs.capture(written)?;
    files.push(key.clone());
    Ok(key)
}

fn report_arg_errors(
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

/// `expand: {arg: [literal list] | upstream.output | XcomArg(upstream)}`.
#[allow(clippy::too_many_arguments)]
fn read_expand(
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
        if !accepted.contains(&k.name.as_str()) {
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
                            "`expand.{}` must be a list or `<task>.output`, found `{s}`",
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
    let name = t
        .strip_suffix(".output")
        .or_else(|| t.strip_prefix("XcomArg(").and_then(|r| r.strip_suffix(')')))
        .or_else(|| t.strip_prefix("XComArg(").and_then(|r| r.strip_suffix(')')))?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The `BaseOperator` settings: the task's own value, else the inherited default,
/// else Airflow's default. Returns a task with placeholder id, operator and upstream.
fn read_settings(
    r: &mut MapReader<'_>,
    inh: &Inherited<'_>,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<Task> {
    let mark = sink.mark();
    let task_pos = r.pos;
    let mut pick = |key: &'static str| -> Option<(&'static str, Node)> {
        r.take(key)
            .or_else(|| inh.get(key))
            .map(|n| (key, n.clone()))
    };
    let text = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_text(&n, k, sink, scope))
    };
    let boolean = |v: Option<(&'static str, Node)>, default: bool, sink: &mut Sink| {
        v.and_then(|(k, n)| read_bool(&n, k, sink, scope))
            .unwrap_or(default)
    };
    let duration = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_duration(&n, k, sink, scope))
    };
    let count = |v: Option<(&'static str, Node)>, sink: &mut Sink| {
        v.and_then(|(k, n)| read_u32(&n, k, sink, scope))
    };

    let owner = text(pick("owner"), sink).unwrap_or_else(|| defaults::OWNER.into());
    let retries = count(pick("retries"), sink).unwrap_or(defaults::RETRIES);
    let retry_delay = duration(pick("retry_delay"), sink).unwrap_or(defaults::RETRY_DELAY);
    let retry_exponential_backoff = boolean(pick("retry_exponential_backoff"), false, sink);
    let max_retry_delay = duration(pick("max_retry_delay"), sink);
    let execution_timeout = duration(pick("execution_timeout"), sink).filter(|d| !d.is_zero());
    let queue = text(pick("queue"), sink).unwrap_or_else(|| defaults::QUEUE.into());
    let pool = text(pick("pool"), sink).unwrap_or_else(|| defaults::POOL.into());
    let pool_slots = count(pick("pool_slots"), sink).unwrap_or(1);
    if pool_slots == 0 {
        sink.error(scope, task_pos, "`pool_slots` must be at least 1", None);
    }
    let priority_weight = pick("priority_weight")
        .and_then(|(k, n)| read_i32(&n, k, sink, scope))
        .unwrap_or(1);
    let weight_rule = match pick("weight_rule") {
        None => WeightRule::Downstream,
        Some((k, n)) => match read_text(&n, k, sink, scope).as_deref() {
            Some("downstream") => WeightRule::Downstream,
            Some("upstream") => WeightRule::Upstream,
            Some("absolute") => WeightRule::Absolute,
            Some(other) => {
                sink.error(
                    scope,
                    n.pos,
                    format!("unknown weight_rule `{other}`"),
                    Some("use downstream, upstream or absolute".into()),
                );
                WeightRule::Downstream
            }
            None => WeightRule::Downstream,
        },
    };
    let depends_on_past = boolean(pick("depends_on_past"), false, sink);
    let wait_for_downstream = boolean(pick("wait_for_downstream"), false, sink);
    let trigger_rule = match pick("trigger_rule") {
        None => TriggerRule::AllSuccess,
        Some((k, n)) => {
            let written = read_text(&n, k, sink, scope).unwrap_or_default();
            match TriggerRule::parse(written.trim()) {
                Some(rule) => rule,
                None => {
                    let names = TriggerRule::ALL.iter().map(|r| r.as_str());
                    let hint = crate::suggest::did_you_mean(&written, names).unwrap_or_else(|| {
                        format!(
                            "use one of {}",
                            TriggerRule::ALL
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    sink.error(
                        scope,
                        n.pos,
                        format!("unknown trigger_rule `{written}`"),
                        Some(hint),
                    );
                    TriggerRule::AllSuccess
                }
            }
        }
    };
    let do_xcom_push = boolean(pick("do_xcom_push"), true, sink);
    let params = pick("params")
        .and_then(|(k, n)| read_json_map(&n, k, sink, scope))
        .unwrap_or_default();
    let max_active_tis_per_dag = count(pick("max_active_tis_per_dag"), sink);
    let max_active_tis_per_dagrun = count(pick("max_active_tis_per_dagrun"), sink);
    let doc_md = text(pick("doc_md"), sink);
    let display_name = text(pick("task_display_name"), sink);
    if sink.errors_since(mark) {
        return None;
    }
    Some(Task {
        task_id: String::new(),
        group_id: None,
        operator: TaskOperator::Plain {
            operator: Operator::Empty,
        },
        upstream: Vec::new(),
        display_name,
        doc_md,
        owner,
        retries,
        retry_delay,
        retry_exponential_backoff,
        max_retry_delay,
        execution_timeout,
        queue,
        pool,
        pool_slots,
        priority_weight,
        weight_rule,
        depends_on_past,
        wait_for_downstream,
        trigger_rule,
        do_xcom_push,
        params,
        max_active_tis_per_dag,
        max_active_tis_per_dagrun,
    })
}

/// Every key that may appear in `default_args`: task settings, DAG dates, ignored
/// Airflow keys, and any supported operator's arguments.
pub fn default_args_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = TASK_SETTINGS.to_vec();
    keys.extend(["start_date", "end_date", "timezone"]);
    keys.extend(IGNORED_TASK_KEYS.iter().map(|(k, _)| *k));
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
