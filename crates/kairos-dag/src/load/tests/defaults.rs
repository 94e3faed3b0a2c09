//! The `default:` block and `default_args`: what they give the DAGs and tasks of the
//! file, and their problems reported once, where they are written.

use serde_json::json;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::support::{load, one_error, only_dag};
use crate::diag::{Diagnostic, Severity};
use crate::load::{LoadOptions, load_bytes};

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
fn errors_in_the_default_block_point_at_it() {
    let f = load(
        "default:\n  default_args:\n    retries: many\na:\n  tasks: {t: {operator: empty}}\nb:\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3, "reported once, at the default block: {msg}");
    assert!(f.dags.is_empty(), "neither DAG is valid");
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
fn a_conflict_in_the_default_block_makes_its_dags_unusable() {
    let f = load(
        "default:\n  schedule: '@daily'\n  schedule_interval: '@hourly'\nd:\n  start_date: 2024-01-01\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(msg.contains("old name of `schedule`"), "{msg}");
    assert!(f.dags.is_empty());
}

/// dag-factory's folder layout: `defaults.yml` at the DAGs root and in a team's
/// folder, a DAG file below both, a callable at the root named with
/// `$CONFIG_ROOT_DIR`, and a `default:` block with list-form tasks that the DAG
/// overrides by task id.
#[test]
fn defaults_files_and_config_root_dir_follow_the_dags_root() {
    let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for (path, text) in [
        (
            "/root/defaults.yml",
            "default_args: {start_date: 2025-01-01, owner: root}\ntags: [all]\n",
        ),
        (
            "/root/team/defaults.yml",
            "default_args: {owner: team}\nschedule: '@daily'\n",
        ),
        ("/root/hello.py", "def hello():\n    return 1\n"),
    ] {
        disk.insert(PathBuf::from(path), text.as_bytes().to_vec());
    }
    let yaml = "default:\n  tasks:\n    - {task_id: a, operator: bash, bash_command: echo a}\n    - {task_id: b, operator: bash, dependencies: [a]}\n\
                d:\n  tasks:\n    - {task_id: b, bash_command: echo b}\n    - task_id: c\n      operator: python\n      python_callable_name: hello\n      python_callable_file: $CONFIG_ROOT_DIR/hello.py\n      dependencies: [b]\n";
    let opts = LoadOptions {
        root: Some(PathBuf::from("/root")),
        ..LoadOptions::default()
    };
    let f = load_bytes(
        "team/sub/x.yml",
        Path::new("/root/team/sub/x.yml"),
        yaml.as_bytes(),
        &disk,
        &opts,
    );
    let v = only_dag(&f);
    let dag = &v.dag;
    assert_eq!(dag.fileloc, "team/sub/x.yml");
    assert!(
        dag.start_date.is_some(),
        "start_date from the root's defaults"
    );
    assert!(
        dag.tasks.iter().all(|t| t.owner == "team"),
        "owner from the closest"
    );
    assert_eq!(dag.tags, vec!["all".to_string()]);
    let ids: Vec<&str> = dag.tasks.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "c"]);
    let keys: Vec<&str> = v.files.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "defaults.yml",
            "hello.py",
            "team/defaults.yml",
            "team/sub/x.yml"
        ]
    );
    // Without a root, the file's folder is the root: nothing above it is read.
    let alone = load_bytes(
        "team/sub/x.yml",
        Path::new("/root/team/sub/x.yml"),
        yaml.as_bytes(),
        &disk,
        &LoadOptions::default(),
    );
    assert!(alone.has_errors());
}
