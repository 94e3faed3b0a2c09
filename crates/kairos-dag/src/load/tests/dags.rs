//! A DAG's own keys: schedule, dates, time zone, catchup, old and new key names, and
//! the version hash; their errors, and YAML syntax errors, at their line and column.

use chrono::{TimeZone, Utc};

use super::support::{errors, load, one_error, only_dag};
use crate::duration::Duration;
use crate::model::WeightRule;
use crate::timetable::Schedule;
use crate::trigger_rule::TriggerRule;

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
fn yaml_syntax_errors_have_positions() {
    let f = load("d:\n  tasks:\n    t: {operator: empty\n  x: 1\n");
    let (line, _, msg) = one_error(&f);
    assert!(line >= 3, "{msg}");
    assert!(msg.contains("invalid YAML"), "{msg}");
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
