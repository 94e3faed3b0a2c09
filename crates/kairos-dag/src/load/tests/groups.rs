//! Task groups: ids prefixed by the group path, dependencies on groups, nesting, and
//! group `default_args`.

use super::support::{errors, load, one_error, only_dag};
use crate::operator::Operator;

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
