//! Loader tests over in-memory files: what valid files mean, and that every problem
//! is reported once, at its line and column, with its DAG and task.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::diag::Severity;
use crate::duration::Duration;
use crate::model::{MapSource, TaskOperator, WeightRule};
use crate::operator::{BashCommand, Operator, PythonKind};
use crate::timetable::Schedule;
use crate::trigger_rule::TriggerRule;

fn load_with(yaml: &str, extra: &[(&str, &str)]) -> LoadedFile {
    let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for (path, content) in extra {
        disk.insert(
            PathBuf::from(format!("/dags/{path}")),
            content.as_bytes().to_vec(),
        );
    }
    load_bytes(
        "dags/test.yml",
        Path::new("/dags/test.yml"),
        yaml.as_bytes(),
        &disk,
        &LoadOptions::default(),
    )
}

fn load(yaml: &str) -> LoadedFile {
    load_with(yaml, &[])
}

fn only_dag(f: &LoadedFile) -> &VersionContent {
    let errors: Vec<String> = f
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "unexpected errors:\n{}",
        errors.join("\n")
    );
    assert_eq!(f.dags.len(), 1, "one DAG");
    &f.dags[0]
}

/// The error diagnostics as (line, col, message) for precise assertions.
fn errors(f: &LoadedFile) -> Vec<(u32, u32, String)> {
    f.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let p = d.pos.unwrap_or_default();
            (p.line, p.col, d.to_string())
        })
        .collect()
}

fn one_error(f: &LoadedFile) -> (u32, u32, String) {
    let errs = errors(f);
    assert_eq!(errs.len(), 1, "exactly one error, got: {errs:#?}");
    errs.into_iter().next().unwrap_or_default()
}

const CHAIN: &str = "\
default:
  default_args:
    owner: data
    retries: 2
    retry_delay: 5m
    start_date: 2024-01-01
  catchup: false
etl:
  schedule: '@daily'
  tags: [etl]
  tasks:
    - task_id: extract
      operator: airflow.operators.bash.BashOperator
      bash_command: echo extract
    - task_id: transform
      operator: bash
      bash_command: echo transform
      retries: 5
      dependencies: [extract]
    - task_id: load
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: echo load
      dependencies: [transform]
";

#[test]
fn a_chain_with_a_default_block() {
    let f = load(CHAIN);
    let v = only_dag(&f);
    let d = &v.dag;
    assert_eq!(d.dag_id, "etl");
    assert!(matches!(d.schedule, Schedule::Cron { .. }));
    assert!(!d.catchup);
    assert_eq!(d.tags, vec!["etl".to_string()]);
    assert_eq!(
        d.start_date.and_then(|s| s.fixed()),
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single()
    );
    let ids: Vec<&str> = d.tasks.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, ["extract", "transform", "load"]);
    let transform = d.task("transform").expect("transform");
    assert_eq!(transform.upstream, vec!["extract".to_string()]);
    assert_eq!(transform.retries, 5, "the task's own value wins");
    assert_eq!(transform.owner, "data", "default_args apply");
    assert_eq!(transform.retry_delay, Duration::from_secs(300));
    let load_task = d.task("load").expect("load");
    assert_eq!(load_task.retries, 2);
    // Airflow's defaults for what nobody set.
    assert_eq!(load_task.pool, "default_pool");
    assert_eq!(load_task.queue, "default");
    assert_eq!(load_task.trigger_rule, TriggerRule::AllSuccess);
    assert_eq!(load_task.weight_rule, WeightRule::Downstream);
    assert!(load_task.do_xcom_push);
    assert_eq!(d.max_active_runs, 16);
    assert_eq!(d.max_active_tasks, 16);
    // The version carries the YAML itself.
    assert_eq!(f.file(v, "test.yml"), Some(CHAIN));
    assert_eq!(d.fileloc, "test.yml");
}

#[test]
fn mapping_form_and_aliases() {
    let f = load(
        "d:\n  schedule_interval: 1h\n  start_date: '2024-01-01'\n  concurrency: 3\n  tasks:\n    a:\n      operator: empty\n    b:\n      operator: dummy\n      dependencies: [a]\n      trigger_rule: dummy\n",
    );
    let d = &only_dag(&f).dag;
    assert_eq!(
        d.schedule,
        Schedule::Delta {
            delta: Duration::from_secs(3600)
        }
    );
    assert_eq!(d.max_active_tasks, 3);
    assert_eq!(
        d.task("b").map(|t| t.trigger_rule),
        Some(TriggerRule::Always)
    );
}

const GROUPS: &str = "\
grouped:
  start_date: 2024-01-01
  task_groups:
    - group_name: outer
      tooltip: the outer group
    - group_name: inner
      parent_group_name: outer
      dependencies: [first]
    - group_name: after
      dependencies: [outer]
  tasks:
    - task_id: first
      operator: empty
    - task_id: a
      operator: empty
      task_group_name: inner
    - task_id: b
      operator: empty
      task_group_name: inner
      dependencies: [a]
    - task_id: c
      operator: empty
      task_group_name: outer
    - task_id: d
      operator: empty
      task_group_name: after
    - task_id: last
      operator: empty
      dependencies: [after, inner]
";

#[test]
fn task_groups_prefix_ids_and_expand_dependencies() {
    let f = load(GROUPS);
    let d = &only_dag(&f).dag;
    let up = |id: &str| {
        d.task(id)
            .map(|t| t.upstream.clone())
            .unwrap_or_else(|| panic!("no task {id}"))
    };
    // Ids get the group path, as Airflow builds it.
    assert!(d.task("outer.inner.a").is_some());
    assert!(d.task("outer.c").is_some());
    assert!(d.task("after.d").is_some());
    // Group `inner` depends on task `first`: its roots (a) get it; b depends on a.
    assert_eq!(up("outer.inner.a"), vec!["first"]);
    assert_eq!(up("outer.inner.b"), vec!["outer.inner.a"]);
    // Group `after` depends on group `outer`: after's roots wait for outer's leaves
    // (b ends inner's chain, c stands alone).
    assert_eq!(up("after.d"), vec!["outer.c", "outer.inner.b"]);
    // A task depending on groups waits for their leaves.
    assert_eq!(up("last"), vec!["after.d", "outer.inner.b"]);
    assert_eq!(d.groups.len(), 3);
    assert_eq!(d.groups[1].group_id, "outer.inner");
    assert_eq!(d.groups[1].parent.as_deref(), Some("outer"));
}

#[test]
fn groups_without_prefix_and_group_default_args() {
    let f = load(
        "d:\n  default_args: {retries: 1}\n  task_groups:\n    g:\n      prefix_group_id: false\n      default_args: {retries: 4, pool: slow}\n  tasks:\n    t:\n      operator: empty\n      task_group_name: g\n    u:\n      operator: empty\n",
    );
    let d = &only_dag(&f).dag;
    let t = d.task("t").expect("no prefix");
    assert_eq!((t.retries, t.pool.as_str()), (4, "slow"));
    assert_eq!(t.group_id.as_deref(), Some("g"));
    assert_eq!(d.task("u").map(|u| u.retries), Some(1));
}

#[test]
fn python_callables_ship_with_the_version() {
    let py = "def choose(**ctx):\n    return 'left'\n";
    let f = load_with(
        "branchy:\n  tasks:\n    pick:\n      operator: airflow.operators.python.BranchPythonOperator\n      python_callable_name: choose\n      python_callable_file: $CONFIG_ROOT_DIR/lib/callables.py\n      op_kwargs: {threshold: 3}\n    left:\n      operator: empty\n      dependencies: [pick]\n    right:\n      operator: empty\n      dependencies: [pick]\n    join:\n      operator: empty\n      trigger_rule: none_failed_min_one_success\n      dependencies: [left, right]\n",
        &[("lib/callables.py", py)],
    );
    let v = only_dag(&f);
    assert_eq!(f.file(v, "lib/callables.py"), Some(py));
    let Some(Operator::Python(p)) = v.dag.task("pick").and_then(|t| t.plain_operator()) else {
        panic!("python operator")
    };
    assert_eq!(p.kind, PythonKind::Branch);
    assert_eq!(p.callable.file, "lib/callables.py");
    assert_eq!(p.op_kwargs.get("threshold"), Some(&json!(3)));
}

#[test]
fn bash_scripts_ship_with_the_version() {
    let f = load_with(
        "d:\n  tasks:\n    run:\n      operator: bash\n      bash_command: scripts/run.sh\n",
        &[("scripts/run.sh", "echo {{ ds }}\n")],
    );
    let v = only_dag(&f);
    let Some(Operator::Bash(b)) = v.dag.task("run").and_then(|t| t.plain_operator()) else {
        panic!("bash")
    };
    assert_eq!(
        b.command,
        BashCommand::Script {
            file: "scripts/run.sh".into()
        }
    );
    assert!(v.files.contains_key("scripts/run.sh"));
}

#[test]
fn mapped_tasks_and_their_implied_dependency() {
    let f = load_with(
        "m:\n  tasks:\n    - task_id: request\n      operator: python\n      python_callable_name: make_list\n      python_callable_file: cb.py\n    - task_id: process\n      operator: python\n      python_callable_name: consume\n      python_callable_file: cb.py\n      partial:\n        op_kwargs: {fixed: test}\n      expand:\n        op_args: request.output\n    - task_id: echo\n      operator: bash\n      expand:\n        bash_command: ['echo 1', 'echo 2']\n",
        &[(
            "cb.py",
            "def make_list(): return [[1], [2]]\ndef consume(x, fixed): print(x, fixed)\n",
        )],
    );
    let d = &only_dag(&f).dag;
    let process = d.task("process").expect("process");
    assert_eq!(
        process.upstream,
        vec!["request"],
        "expand on request.output implies the dependency"
    );
    let TaskOperator::Mapped(m) = &process.operator else {
        panic!("mapped")
    };
    assert_eq!(
        m.expand,
        vec![(
            "op_args".to_string(),
            MapSource::Xcom {
                task_id: "request".into()
            }
        )]
    );
    assert_eq!(m.partial.get("op_kwargs"), Some(&json!({"fixed": "test"})));
    let TaskOperator::Mapped(e) = &d.task("echo").expect("echo").operator else {
        panic!("mapped")
    };
    let MapSource::Literal { values } = &e.expand[0].1 else {
        panic!("literal")
    };
    assert_eq!(values.len(), 2);
    let files: BTreeMap<String, String> = BTreeMap::new();
    let one = e.instantiate(
        &[("bash_command".to_string(), json!("echo 2"))]
            .into_iter()
            .collect(),
        &files,
    );
    assert!(matches!(one, Ok(Operator::Bash(_))));
}

#[test]
fn relative_start_dates_and_time_zones() {
    let f = load(
        "d:\n  timezone: Asia/Tokyo\n  start_date: 2 days\n  schedule: '@daily'\n  tasks: {t: {operator: empty}}\n",
    );
    let d = &only_dag(&f).dag;
    assert_eq!(d.timezone, chrono_tz::Asia::Tokyo);
    let now = Utc
        .with_ymd_and_hms(2024, 5, 10, 20, 0, 0)
        .single()
        .expect("valid");
    // 05-11 in Tokyo; its midnight is 05-10 15:00Z; two days before is 05-08 15:00Z.
    assert_eq!(
        d.restriction(now).earliest,
        Utc.with_ymd_and_hms(2024, 5, 8, 15, 0, 0).single()
    );
}

#[test]
fn same_content_same_hash_any_change_new_hash() {
    let a = load(CHAIN);
    let b = load(CHAIN);
    assert_eq!(only_dag(&a).content_hash(), only_dag(&b).content_hash());
    let changed = load(&CHAIN.replace("echo load", "echo LOAD"));
    assert_ne!(
        only_dag(&a).content_hash(),
        only_dag(&changed).content_hash()
    );
    let comment = load(&format!("{CHAIN}# a comment\n"));
    assert_ne!(
        only_dag(&a).content_hash(),
        only_dag(&comment).content_hash(),
        "the YAML is part of the version, so its code view changes too"
    );
    let relative =
        "d:\n  start_date: 3 days\n  schedule: '@daily'\n  tasks: {t: {operator: empty}}\n";
    assert_eq!(
        only_dag(&load(relative)).content_hash(),
        only_dag(&load(relative)).content_hash()
    );
}

// ---- Errors: one per problem, at its place, saying what and how. ----

#[test]
fn unknown_dependency_with_did_you_mean() {
    let f = load(
        "d:\n  tasks:\n    extract: {operator: empty}\n    load:\n      operator: empty\n      dependencies: [extrat]\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (6, 22));
    assert!(
        msg.contains("dags/test.yml:6:22: error: dag `d`: unknown dependency `extrat`"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `extract`?"), "{msg}");
}

#[test]
fn cycles_print_their_path() {
    let f = load(
        "d:\n  tasks:\n    a: {operator: empty, dependencies: [c]}\n    b: {operator: empty, dependencies: [a]}\n    c: {operator: empty, dependencies: [b]}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(msg.contains("cycle: a -> b -> c -> a"), "{msg}");
}

#[test]
fn duplicate_ids() {
    let f = load(
        "d:\n  tasks:\n    - {task_id: a, operator: empty}\n    - {task_id: a, operator: empty}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 4);
    assert!(
        msg.contains("task `a` is defined twice (first at line 3)"),
        "{msg}"
    );
    let f = load("d:\n  tasks:\n    a: {operator: empty}\n    a: {operator: empty}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 4);
    assert!(msg.contains("twice"), "{msg}");
    let f = load("d:\n  tasks: {a: {operator: empty}}\nd:\n  tasks: {a: {operator: empty}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(msg.contains("DAG `d` is defined twice"), "{msg}");
}

#[test]
fn unknown_operator_lists_the_supported_ones() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: airflow.providers.snowflake.operators.SnowflakeOperator\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (4, 17));
    assert!(msg.contains("task `t`: unknown operator"), "{msg}");
    assert!(
        msg.contains("BashOperator") && msg.contains("PythonOperator"),
        "{msg}"
    );
}

#[test]
fn unknown_keys_with_did_you_mean() {
    let f = load(
        "d:\n  schedul: '@daily'\n  tasks:\n    t:\n      operator: bash\n      bash_command: echo\n      retires: 3\n",
    );
    let errs = errors(&f);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].0, errs[0].1), (2, 3));
    assert!(
        errs[0].2.contains("unknown key `schedul`")
            && errs[0].2.contains("did you mean `schedule`?"),
        "{}",
        errs[0].2
    );
    assert_eq!(errs[1].0, 7);
    assert!(
        errs[1].2.contains("`retires`") && errs[1].2.contains("did you mean `retries`?"),
        "{}",
        errs[1].2
    );
}

#[test]
fn bad_cron_timezone_and_duration() {
    let f = load(
        "d:\n  start_date: 2024-01-01\n  schedule: 61 * * * *\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (3, 13));
    assert!(msg.contains("not a valid cron expression"), "{msg}");

    let f = load("d:\n  timezone: Europe/Amsterdm\n  tasks: {t: {operator: empty}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 2);
    assert!(
        msg.contains("unknown time zone `Europe/Amsterdm`") && msg.contains("Europe/Amsterdam"),
        "{msg}"
    );

    let f = load("d:\n  tasks:\n    t:\n      operator: empty\n      retry_delay: 5 fortnights\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 5);
    assert!(
        msg.contains("task `t`") && msg.contains("not a duration"),
        "{msg}"
    );
}

#[test]
fn missing_start_date_and_end_before_start() {
    let f = load("d:\n  schedule: '@daily'\n  tasks: {t: {operator: empty}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 1);
    assert!(
        msg.contains("no `start_date`") && msg.contains("start_date: 2024-01-01"),
        "{msg}"
    );
    let f = load(
        "d:\n  schedule: '@daily'\n  start_date: 2024-02-01\n  end_date: 2024-01-01\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 4);
    assert!(
        msg.contains("`end_date`") && msg.contains("before `start_date`"),
        "{msg}"
    );
}

#[test]
fn operator_argument_errors_point_at_the_argument() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: bash\n      bash_command: echo\n      env: [A, B]\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (6, 7));
    assert!(msg.contains("`env` must be a mapping"), "{msg}");
    let f = load("d:\n  tasks:\n    t:\n      operator: bash\n");
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("`bash_command` is required"), "{msg}");
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: python\n      python_callable_name: f\n      python_callable_file: $CONFIG_ROOT_DIR/nope.py\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 6);
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn default_args_are_checked() {
    let f = load(
        "d:\n  default_args:\n    retires: 1\n    schedule: '@daily'\n    email: x@y.z\n  tasks: {t: {operator: empty}}\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(
        msg.contains("unknown key `retires` in default_args") && msg.contains("retries"),
        "{msg}"
    );
    let warnings: Vec<&Diagnostic> = f
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("`email` has no effect"))
    );
    // Airflow ignores DAG settings in default_args; Kairos says so loudly but accepts it.
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("`schedule` is a DAG setting"))
    );
}

#[test]
fn strings_where_booleans_belong() {
    // dag-factory's own example has this typo; PyYAML reads it as the text "false,".
    let f = load("d:\n  catchup: false,\n  tasks: {t: {operator: empty}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 2);
    assert!(
        msg.contains("found the text `false,`") && msg.contains("write `false`"),
        "{msg}"
    );
}

#[test]
fn errors_in_the_default_block_point_at_it() {
    let f = load(
        "default:\n  default_args:\n    retries: many\na:\n  tasks: {t: {operator: empty}}\nb:\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3, "reported once, at the default block: {msg}");
    assert!(f.dags.is_empty(), "neither DAG is valid");
}

#[test]
fn group_and_nesting_errors() {
    let f = load(
        "d:\n  task_groups:\n    g1: {parent_group_name: g2}\n    g2: {parent_group_name: g1}\n  tasks: {t: {operator: empty, task_group_name: g1}}\n",
    );
    let errs = errors(&f);
    assert!(
        errs.iter().any(|e| e.2.contains("nested inside itself")),
        "{errs:#?}"
    );
    let f = load("d:\n  tasks: {t: {operator: empty, task_group_name: nope}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 2);
    assert!(
        msg.contains("`task_group_name: nope` names no task group"),
        "{msg}"
    );
}

#[test]
fn yaml_syntax_errors_have_positions() {
    let f = load("d:\n  tasks:\n    t: {operator: empty\n  x: 1\n");
    let (line, _, msg) = one_error(&f);
    assert!(line >= 3, "{msg}");
    assert!(msg.contains("invalid YAML"), "{msg}");
}

#[test]
fn files_outside_the_folder_are_refused() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: python\n      python_callable_name: f\n      python_callable_file: /etc/cb.py\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("outside the DAG file's folder"), "{msg}");
}

#[test]
fn many_problems_are_all_reported() {
    let f = load(
        "d:\n  timezone: Mars/Olympus\n  tasks:\n    a: {operator: nope}\n    b: {operator: empty, dependencies: [zzz]}\n    c: {operator: bash}\n",
    );
    let errs = errors(&f);
    assert!(errs.len() >= 3, "{errs:#?}");
}

#[test]
fn mapped_sources_use_the_real_task_id() {
    // Found in review: `request` inside group `g` has the id `g.request`.
    let f = load(
        "d:\n  task_groups: {g: {}}\n  tasks:\n    request: {operator: bash, bash_command: echo, task_group_name: g}\n    process:\n      operator: bash\n      expand: {bash_command: request.output}\n",
    );
    let d = &only_dag(&f).dag;
    let process = d.task("process").expect("process");
    assert_eq!(process.upstream, vec!["g.request"]);
    let TaskOperator::Mapped(m) = &process.operator else {
        panic!("mapped")
    };
    assert_eq!(
        m.expand[0].1,
        MapSource::Xcom {
            task_id: "g.request".into()
        }
    );
    // A group has no output.
    let f = load(
        "d:\n  task_groups: {g: {}}\n  tasks:\n    a: {operator: empty, task_group_name: g}\n    process:\n      operator: bash\n      expand: {bash_command: g.output}\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("`g` is a task group"), "{msg}");
}

#[test]
fn every_problem_in_one_pass() {
    // Found in review: dependency problems were held back until every other error was fixed.
    let f = load(
        "d:\n  tasks:\n    a: {operator: nope}\n    b: {operator: empty, dependencies: [a]}\n    c: {operator: empty, dependencies: [zz]}\n    e: {operator: empty, dependencies: [f]}\n    f: {operator: empty, dependencies: [e]}\n",
    );
    let errs = errors(&f);
    let text: Vec<&str> = errs.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(errs.len(), 3, "{text:#?}");
    assert!(text[0].contains("unknown operator `nope`"));
    assert!(text.iter().any(|t| t.contains("unknown dependency `zz`")));
    assert!(text.iter().any(|t| t.contains("cycle: e -> f -> e")));
    // `b` depends on `a`, which exists but is broken: that is not an unknown dependency.
    assert!(!text.iter().any(|t| t.contains("unknown dependency `a`")));
}

#[test]
fn default_args_params_override_dag_params_and_are_not_inherited_again() {
    // Found in review. Airflow: dag.params.update(default_args["params"]); del default_args["params"].
    let f = load(
        "d:\n  params: {env: from_dag, keep: 1}\n  default_args:\n    params: {env: from_default_args}\n  tasks:\n    plain: {operator: empty}\n    own: {operator: empty, params: {x: 2}}\n",
    );
    let d = &only_dag(&f).dag;
    assert_eq!(d.params.get("env"), Some(&json!("from_default_args")));
    assert_eq!(d.params.get("keep"), Some(&json!(1)));
    assert!(d.task("plain").expect("plain").params.is_empty());
    assert_eq!(d.task("own").expect("own").params.get("x"), Some(&json!(2)));
}

#[test]
fn old_and_new_key_names_follow_the_dags_own_keys() {
    // Found in review: the DAG's own old-name key lost to the default block's new name.
    let f = load(
        "default:\n  default_args: {retry_delay: 600, execution_timeout: 1h}\n  concurrency: 4\nd:\n  max_active_tasks: 2\n  default_args: {retry_delay_sec: 10}\n  tasks:\n    t: {operator: empty, execution_timeout_secs: 30}\n",
    );
    let d = &only_dag(&f).dag;
    let t = d.task("t").expect("t");
    assert_eq!(t.retry_delay, Duration::from_secs(10));
    assert_eq!(t.execution_timeout, Some(Duration::from_secs(30)));
    assert_eq!(d.max_active_tasks, 2);
    // Both names in one place is refused.
    let f = load(
        "d:\n  schedule: '@daily'\n  schedule_interval: '@hourly'\n  start_date: 2024-01-01\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(
        msg.contains("`schedule_interval` is the old name of `schedule`"),
        "{msg}"
    );
}

#[test]
fn group_default_args_replace_values_whole() {
    // Found in review: Airflow layers group default_args with dict.update, not a deep merge.
    let f = load(
        "d:\n  default_args: {env: {A: '1'}}\n  task_groups:\n    g: {default_args: {env: {B: '2'}}}\n  tasks:\n    t: {operator: bash, bash_command: echo, task_group_name: g}\n",
    );
    let d = &only_dag(&f).dag;
    let Some(Operator::Bash(b)) = d.task("g.t").and_then(|t| t.plain_operator()) else {
        panic!("bash")
    };
    let env = b.env.clone().unwrap_or_default();
    assert_eq!(env.len(), 1);
    assert_eq!(env.get("B").map(String::as_str), Some("2"));
}

#[test]
fn expanded_arguments_and_defaults_and_scripts() {
    // Found in review: a default for an expanded argument made it "both expanded and fixed",
    // and scripts named in an expand list were not shipped.
    let f = load_with(
        "d:\n  default_args: {bash_command: echo default}\n  tasks:\n    t:\n      operator: bash\n      expand:\n        bash_command: [scripts/a.sh, echo inline]\n",
        &[("scripts/a.sh", "echo {{ ds }}\n")],
    );
    let v = only_dag(&f);
    assert!(
        v.files.contains_key("scripts/a.sh"),
        "the script ships with the version"
    );
    let TaskOperator::Mapped(m) = &v.dag.task("t").expect("t").operator else {
        panic!("mapped")
    };
    assert!(!m.partial.contains_key("bash_command"));
    let one = m.instantiate(
        &[("bash_command".to_string(), json!("scripts/a.sh"))]
            .into_iter()
            .collect(),
        &v.files,
    );
    assert!(
        matches!(one, Ok(Operator::Bash(b)) if b.command == BashCommand::Script { file: "scripts/a.sh".into() })
    );
}

#[test]
fn a_conflict_in_the_default_block_makes_its_dags_unusable() {
    let f = load(
        "default:\n  schedule: '@daily'\n  schedule_interval: '@hourly'\nd:\n  start_date: 2024-01-01\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(msg.contains("old name of `schedule`"), "{msg}");
    assert!(f.dags.is_empty());
}
