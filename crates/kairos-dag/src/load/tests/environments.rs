//! `environment` on a DAG, in `default_args` and on a task: which one a task
//! runs in, bad names refused where written, and version identity unchanged for
//! DAGs that name none.

use std::path::Path;

use super::support::{load, one_error, only_dag};
use crate::load::{LoadOptions, load_bytes};

const TASKS: &str =
    "  tasks:\n    plain: {operator: empty}\n    own: {operator: empty, environment: py311}\n";

#[test]
fn a_task_names_its_own_else_default_args_else_the_dags() {
    let f = load(&format!(
        "d:\n  environment: py312-etl\n  default_args: {{environment: from_defaults}}\n{TASKS}"
    ));
    let d = &only_dag(&f).dag;
    assert_eq!(d.environment.as_deref(), Some("py312-etl"));
    let plain = d.task("plain").unwrap();
    let own = d.task("own").unwrap();
    assert_eq!(d.environment_of(plain), Some("from_defaults"));
    assert_eq!(d.environment_of(own), Some("py311"));

    let f = load(&format!("d:\n  environment: py312-etl\n{TASKS}"));
    let d = &only_dag(&f).dag;
    assert_eq!(
        d.environment_of(d.task("plain").unwrap()),
        Some("py312-etl")
    );
    assert_eq!(d.environment_of(d.task("own").unwrap()), Some("py311"));
}

#[test]
fn the_bundles_environment_is_the_default_and_the_dag_file_wins() {
    let opts = LoadOptions {
        environment: Some("bundle-env".into()),
        ..LoadOptions::default()
    };
    let read = |yaml: &str| {
        let f = load_bytes(
            "dags/test.yml",
            Path::new("/dags/test.yml"),
            yaml.as_bytes(),
            &std::collections::BTreeMap::<std::path::PathBuf, Vec<u8>>::new(),
            &opts,
        );
        only_dag(&f).dag.clone()
    };
    let d = read(&format!("d:\n{TASKS}"));
    assert_eq!(d.environment.as_deref(), Some("bundle-env"));
    assert_eq!(
        d.environment_of(d.task("plain").unwrap()),
        Some("bundle-env")
    );
    let d = read(&format!("d:\n  environment: mine\n{TASKS}"));
    assert_eq!(d.environment_of(d.task("plain").unwrap()), Some("mine"));
}

#[test]
fn no_environment_means_any_worker() {
    let f = load(&format!("d:\n{TASKS}"));
    let d = &only_dag(&f).dag;
    assert_eq!(d.environment, None);
    assert_eq!(d.environment_of(d.task("plain").unwrap()), None);
}

#[test]
fn bad_names_are_refused_where_written() {
    let f = load("d:\n  tasks:\n    t: {operator: empty, environment: 'py 3/12'}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3, "{msg}");
    assert!(
        msg.contains("`py 3/12` is not a valid environment name"),
        "{msg}"
    );
    let f = load("d:\n  environment: [a, b]\n  tasks: {t: {operator: empty}}\n");
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("`environment` must be text"), "{msg}");
}

#[test]
fn a_dag_without_environments_serializes_as_before() {
    // Version identity is a hash of the JSON: a DAG that names no environment
    // must not gain a key (every stored version would change its hash).
    let f = load("d:\n  tasks:\n    plain: {operator: empty}\n");
    let json = serde_json::to_string(&only_dag(&f).dag).unwrap();
    assert!(!json.contains("environment"), "{json}");
    let f = load(&format!("d:\n{TASKS}"));
    let json = serde_json::to_value(&only_dag(&f).dag).unwrap();
    assert_eq!(json["tasks"][1]["environment"], "py311");
}
