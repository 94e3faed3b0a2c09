//! Task ids and dependencies: unknown, cyclic and duplicate ones, and every problem of
//! a file reported in one pass.

use super::support::{errors, load, one_error};

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
fn many_problems_are_all_reported() {
    let f = load(
        "d:\n  timezone: Mars/Olympus\n  tasks:\n    a: {operator: nope}\n    b: {operator: empty, dependencies: [zzz]}\n    c: {operator: bash}\n",
    );
    let errs = errors(&f);
    assert!(errs.len() >= 3, "{errs:#?}");
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
