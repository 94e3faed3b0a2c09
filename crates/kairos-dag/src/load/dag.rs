//! Reading one DAG: its own keys, then its groups and tasks, then its dependencies.

use crate::limits::MAX_TASKS_PER_DAG;
use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;

use super::assets::{is_asset_schedule, read_asset_schedule};
use super::callbacks::{CallbackInput, read_callbacks};
use super::default_args::{Inherited, check_default_args};
use super::deps::resolve_dependencies;
use super::files::FileRefs;
use super::groups::{read_groups, resolve_groups};
use super::keys::{IGNORED_DAG_KEYS, TASK_SETTINGS};
use super::options::LoadOptions;
use super::read::{
    MapReader, read_bool, read_date, read_duration, read_environment, read_json_map,
    read_string_list, read_text, read_tz, read_u32,
};
use super::sink::{Scope, Sink};
use super::task::{TaskDraft, read_task};
use super::timetable::read_schedule;
use crate::asset::AssetCondition;
use crate::callback::CallbackKind;
use crate::model::{Dag, MapSource, TaskOperator, defaults};
use crate::timetable::Schedule;
use crate::yaml::{Node, Pos, Value};

/// Airflow's rule for DAG and task ids: letters, digits, `_`, `-`, `.`; at most 250.
/// Kairos also refuses ids made of dots only (`.`, `..`): in a URL they are path
/// steps, so the REST API could never name them.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 250
        && !id.chars().all(|c| c == '.')
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A DAG and the keys of the version files its tasks need (the YAML is added by the caller).
pub struct ReadDag {
    pub dag: Dag,
    pub files: Vec<String>,
}

/// Reads one DAG; it is usable only if no error was recorded since `mark` (taken by
/// the caller before it began checking this DAG).
#[allow(clippy::too_many_arguments)]
pub fn read_dag(
    mark: usize,
    dag_id: &str,
    pos: Pos,
    node: &Node,
    fileloc: &str,
    refs: &mut FileRefs<'_>,
    opts: &LoadOptions,
    sink: &mut Sink,
) -> Option<ReadDag> {
    let scope = Scope::dag(dag_id);
    if !is_valid_id(dag_id) {
        sink.error(
            &scope,
            pos,
            format!("`{dag_id}` is not a valid dag_id"),
            Some(
                "use letters, digits, `_`, `-` and `.`, not dots alone (at most 250 characters)"
                    .into(),
            ),
        );
    }
    let what = format!("DAG `{dag_id}`");
    let mut r = MapReader::new(node, &what, sink, &scope)?;
    if let Some(inner) = r.take("dag_id") {
        if inner.as_str() != Some(dag_id) {
            sink.warn(
                &scope,
                inner.pos,
                format!("the DAG's id is its key `{dag_id}`; this `dag_id` is ignored (as dag-factory does)"),
                None,
            );
        }
    }
    let default_args = r.take("default_args");
    if let Some(d) = default_args {
        check_default_args(d, sink, &scope);
    }
    let from_defaults = |key: &str| default_args.and_then(|d| d.get(key));

    let timezone = r
        .take("timezone")
        .or_else(|| from_defaults("timezone"))
        .and_then(|n| read_tz(n, "timezone", sink, &scope))
        .unwrap_or(Tz::UTC);
    let start_date = r
        .take("start_date")
        .or_else(|| from_defaults("start_date"))
        .and_then(|n| read_date(n, "start_date", timezone, sink, &scope).map(|d| (d, n.pos)));
    let end_date = r
        .take("end_date")
        .or_else(|| from_defaults("end_date"))
        .and_then(|n| read_date(n, "end_date", timezone, sink, &scope).map(|d| (d, n.pos)));

    let mut asset_files = Vec::new();
    let (schedule, asset_schedule) =
        read_one_schedule(&mut r, timezone, refs, &mut asset_files, sink, &scope);
    let catchup = r
        .take("catchup")
        .and_then(|n| read_bool(n, "catchup", sink, &scope))
        .unwrap_or(defaults::CATCHUP);
    let max_active_runs =
        positive(&mut r, "max_active_runs", sink, &scope).unwrap_or(defaults::MAX_ACTIVE_RUNS);
    let max_active_tasks =
        positive(&mut r, "max_active_tasks", sink, &scope).unwrap_or(defaults::MAX_ACTIVE_TASKS);
    let dagrun_timeout = r
        .take("dagrun_timeout")
        .and_then(|n| read_duration(n, "dagrun_timeout", sink, &scope))
        .filter(|d| !d.is_zero());
    let tags = r
        .take("tags")
        .map(|n| {
            read_string_list(n, "tags", sink, &scope)
                .into_iter()
                .map(|(t, _)| t)
                .collect()
        })
        .unwrap_or_default();
    let mut params = r
        .take("params")
        .and_then(|n| read_json_map(n, "params", sink, &scope))
        .unwrap_or_default();
    // Airflow lays `default_args.params` over the DAG's params, then removes them from
    // `default_args`, so tasks do not inherit them a second time.
    if let Some(dp) =
        from_defaults("params").and_then(|n| read_json_map(n, "default_args.params", sink, &scope))
    {
        params.extend(dp);
    }
    let task_defaults = default_args.map(without_params);
    let is_paused_upon_creation = r
        .take("is_paused_upon_creation")
        .and_then(|n| read_bool(n, "is_paused_upon_creation", sink, &scope));
    let render_template_as_native_obj = r
        .take("render_template_as_native_obj")
        .and_then(|n| read_bool(n, "render_template_as_native_obj", sink, &scope))
        .unwrap_or(false);
    let display_name = r
        .take("dag_display_name")
        .and_then(|n| read_text(n, "dag_display_name", sink, &scope));
    let description = r
        .take("description")
        .and_then(|n| read_text(n, "description", sink, &scope));
    let mut doc_md = r
        .take("doc_md")
        .and_then(|n| read_text(n, "doc_md", sink, &scope));
    // The DAG's own `environment` (a Kairos key; dag-factory passes unknown DAG
    // keys to `DAG(...)`, which has none) wins over its bundle manifest's.
    // Written in `default_args` instead, it reaches every task the same way.
    let environment = match r.take("environment") {
        Some(n) => read_environment(n, "environment", sink, &scope),
        None => opts.environment.clone(),
    };
    let mut files = Vec::new();
    if let Some(n) = r.take("doc_md_file_path") {
        if let Some(path) = read_text(n, "doc_md_file_path", sink, &scope) {
            match refs.capture(&path) {
                Ok(key) => {
                    doc_md = refs.content(&key).map(str::to_string);
                    files.push(key);
                }
                Err(e) => sink.error(&scope, n.pos, format!("`doc_md_file_path`: {e}"), None),
            }
        }
    }
    // The DAG's own: Airflow's `DAG(on_success_callback=...)` is not inherited
    // by tasks, and `default_args`' are the tasks' only.
    let callbacks = read_callbacks(
        &mut r,
        None,
        &[CallbackKind::Success, CallbackKind::Failure],
        &mut CallbackInput {
            refs,
            files: &mut files,
            sink,
            scope: &scope,
        },
    );
    r.warn_ignored(IGNORED_DAG_KEYS, sink, &scope);
    let groups_node = r.take("task_groups");
    let tasks_node = r.take("tasks");
    r.finish(&what, sink, &scope, TASK_SETTINGS);

    let mut groups = groups_node
        .map(|n| read_groups(n, sink, &scope))
        .unwrap_or_default();
    let groups_ok = resolve_groups(&mut groups, task_defaults.as_ref(), sink, &scope);

    let mut tasks: Vec<TaskDraft> = Vec::new();
    // Tasks that could not be read still exist: dependencies on them are not "unknown".
    let mut unreadable: BTreeSet<String> = BTreeSet::new();
    match tasks_node {
        None => sink.warn(&scope, pos, "the DAG has no `tasks`", None),
        Some(tn) => {
            let entries = task_entries(tn, sink, &scope);
            if entries.len() > MAX_TASKS_PER_DAG {
                sink.error(
                    &scope,
                    tn.pos,
                    format!(
                        "the DAG has {} tasks; a DAG may have at most {MAX_TASKS_PER_DAG} \
                         (see docs/limits.md). Split it into several DAGs, or map one task \
                         over a list (`expand`)",
                        entries.len()
                    ),
                    None,
                );
            }
            let entries = if entries.len() > MAX_TASKS_PER_DAG {
                Vec::new()
            } else {
                entries
            };
            for (name, tpos, body) in entries {
                let group = body
                    .get("task_group_name")
                    .and_then(Node::as_str)
                    .and_then(|g| groups.iter().find(|x| x.name == g));
                let inherited = Inherited {
                    default_args: match group {
                        Some(g) => g.effective_defaults.as_ref(),
                        None => task_defaults.as_ref(),
                    },
                };
                match read_task(&name, tpos, body, &inherited, refs, sink, &scope) {
                    Some(t) => tasks.push(t),
                    None => {
                        unreadable.insert(name);
                    }
                }
            }
        }
    }

    if schedule.as_ref().is_some_and(Schedule::is_periodic) && start_date.is_none() {
        sink.error(
            &scope,
            pos,
            "the DAG has a schedule but no `start_date`",
            Some("add e.g. `start_date: 2024-01-01` to the DAG or its `default_args`".into()),
        );
    }
    if let (Some((s, _)), Some((e, epos))) = (&start_date, &end_date) {
        if let (Some(s), Some(e)) = (s.fixed(), e.fixed()) {
            if e < s {
                sink.error(
                    &scope,
                    *epos,
                    format!("`end_date` ({e}) is before `start_date` ({s})"),
                    None,
                );
            }
        }
    }

    // Ids and dependencies are checked even when other problems were found, so that
    // one run reports everything; the DAG is usable only without any error.
    if groups_ok && assign_ids(&mut tasks, &groups, sink, &scope).is_some() {
        resolve_dependencies(&mut tasks, &groups, &unreadable, sink, &scope);
    }
    if sink.errors_since(mark) {
        return None;
    }
    files.extend(tasks.iter().flat_map(|t| t.files.iter().cloned()));
    files.extend(asset_files);
    files.sort();
    files.dedup();
    Some(ReadDag {
        dag: Dag {
            dag_id: dag_id.to_string(),
            bundle: opts.bundle.clone(),
            team: opts.team.clone(),
            environment,
            display_name,
            description,
            doc_md,
            schedule: schedule?,
            asset_schedule,
            callbacks,
            timezone,
            start_date: start_date.map(|(d, _)| d),
            end_date: end_date.map(|(d, _)| d),
            catchup,
            max_active_runs,
            max_active_tasks,
            dagrun_timeout,
            tags,
            params,
            is_paused_upon_creation,
            render_template_as_native_obj,
            fileloc: fileloc.to_string(),
            groups: groups.iter().map(|g| g.to_model(&groups)).collect(),
            tasks: tasks.into_iter().map(|t| t.task).collect(),
        },
        files,
    })
}

/// `schedule` (old names were renamed to it, see `aliases`); absent means `None`,
/// as in Airflow 3.
/// A schedule on assets gives the condition, and the time schedule of its
/// `timetable` (assets or time) or none.
fn read_one_schedule(
    r: &mut MapReader<'_>,
    tz: Tz,
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    sink: &mut Sink,
    scope: &Scope,
) -> (Option<Schedule>, Option<AssetCondition>) {
    match r.take("schedule") {
        None => (Some(Schedule::None), None),
        Some(n) if is_asset_schedule(n) => {
            let Some(on) = read_asset_schedule(n, refs, files, sink, scope) else {
                return (None, None);
            };
            let time = match on.timetable {
                Some(t) => read_schedule(t, "schedule.timetable", tz, sink, scope),
                None => Some(Schedule::None),
            };
            (time, Some(on.condition))
        }
        Some(n) => (read_schedule(n, "schedule", tz, sink, scope), None),
    }
}

/// `default_args` without `params` (see `read_dag`).
fn without_params(default_args: &Node) -> Node {
    match &default_args.value {
        Value::Map(entries) => Node {
            pos: default_args.pos,
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.name != "params")
                    .cloned()
                    .collect(),
            ),
        },
        _ => default_args.clone(),
    }
}

fn positive(
    r: &mut MapReader<'_>,
    key: &'static str,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<u32> {
    r.take(key).map(|n| at_least_one(n, key, sink, scope))
}

fn at_least_one(n: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> u32 {
    match read_u32(n, key, sink, scope) {
        Some(0) => {
            sink.error(scope, n.pos, format!("`{key}` must be at least 1"), None);
            1
        }
        Some(v) => v,
        None => 1,
    }
}

/// `tasks` as a mapping (`name: {...}`) or a list of mappings with `task_id`.
fn task_entries<'n>(
    node: &'n Node,
    sink: &mut Sink,
    scope: &Scope,
) -> Vec<(String, Pos, &'n Node)> {
    let mut out: Vec<(String, Pos, &Node)> = Vec::new();
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                out.push((k.name.clone(), k.pos, v));
            }
        }
        Value::Seq(items) => {
            for item in items {
                match item.get("task_id") {
                    Some(id) => {
                        if let Some(name) = read_text(id, "task_id", sink, scope) {
                            out.push((name, id.pos, item));
                        }
                    }
                    None => sink.error(
                        scope,
                        item.pos,
                        "a task in list form needs `task_id`",
                        Some("add `task_id: <name>` to the item".into()),
                    ),
                }
            }
        }
        Value::Null => {}
        other => sink.error(
            scope,
            node.pos,
            format!(
                "`tasks` must be a mapping or a list, found {}",
                other.kind()
            ),
            None,
        ),
    }
    let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
    out.retain(|(name, pos, _)| match seen.get(name) {
        Some(first) => {
            sink.error(
                scope,
                *pos,
                format!(
                    "task `{name}` is defined twice (first at line {})",
                    first.line
                ),
                Some("task ids must be unique in a DAG".into()),
            );
            false
        }
        None => {
            seen.insert(name.clone(), *pos);
            true
        }
    });
    out
}

/// Full task ids: the group prefix Airflow adds when the task's group has
/// `prefix_group_id`. Checks the plain names and the results.
fn assign_ids(
    tasks: &mut [TaskDraft],
    groups: &[super::groups::GroupDraft],
    sink: &mut Sink,
    scope: &Scope,
) -> Option<()> {
    let mut ok = true;
    for t in tasks.iter_mut() {
        if !is_valid_id(&t.name) || t.name.contains('.') {
            sink.error(
                &scope.task(&t.name),
                t.pos,
                format!("`{}` is not a valid task id", t.name),
                Some("use letters, digits, `_` and `-` (dots separate group prefixes)".into()),
            );
            ok = false;
            continue;
        }
        let group = match &t.group {
            None => None,
            Some((g, gpos)) => match groups.iter().find(|x| &x.name == g) {
                Some(x) => Some(x),
                None => {
                    let names = groups.iter().map(|x| x.name.as_str());
                    sink.error(
                        &scope.task(&t.name),
                        *gpos,
                        format!("`task_group_name: {g}` names no task group of this DAG"),
                        crate::suggest::did_you_mean(g, names),
                    );
                    ok = false;
                    continue;
                }
            },
        };
        t.task.group_id = group.map(|g| g.group_id.clone());
        t.task.task_id = match group {
            Some(g) if g.prefix_group_id => format!("{}.{}", g.group_id, t.name),
            _ => t.name.clone(),
        };
    }
    // `expand: {x: name.output}` names its upstream by its plain name: keep its id.
    let id_of: BTreeMap<String, String> = tasks
        .iter()
        .map(|t| (t.name.clone(), t.task.task_id.clone()))
        .collect();
    for t in tasks.iter_mut() {
        if let TaskOperator::Mapped(m) = &mut t.task.operator {
            for (_, source) in m.expand.iter_mut() {
                if let MapSource::Xcom { task_id } = source {
                    if let Some(id) = id_of.get(task_id) {
                        *task_id = id.clone();
                    }
                }
            }
        }
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for t in tasks.iter() {
        if let Some(other) = seen.insert(t.task.task_id.as_str(), t.name.as_str()) {
            sink.error(
                &scope.task(&t.name),
                t.pos,
                format!(
                    "tasks `{other}` and `{}` both get the id `{}`",
                    t.name, t.task.task_id
                ),
                Some("rename one, or keep `prefix_group_id: true` on their groups".into()),
            );
            ok = false;
        }
    }
    ok.then_some(())
}

#[cfg(test)]
mod id_tests {
    use super::is_valid_id;

    #[test]
    fn ids_follow_airflow_but_not_dots_alone() {
        for ok in ["etl", "etl.daily", "a-b_c", ".hidden", "v1..2"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", ".", "..", "...", "a/b", "a b", &"x".repeat(251)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
