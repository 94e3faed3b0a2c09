//! The DAGs tests and the benchmark push, as YAML and as the `PutDagVersion`
//! commands a test proposes straight to the cluster (no REST API in the way).

use std::path::Path;

/// The `PutDagVersion` command for one DAG written as YAML (tests and the bench).
pub fn put_dag_command(yaml: &str) -> Result<kairos_state::Command, String> {
    let loaded = kairos_dag::load::load_bytes(
        "dags/pushed.yml",
        Path::new("dags/pushed.yml"),
        yaml.as_bytes(),
        &std::collections::BTreeMap::new(),
        &kairos_dag::load::LoadOptions::default(),
    );
    if loaded.has_errors() {
        return Err(format!("{:?}", loaded.diagnostics));
    }
    let content = loaded
        .dags
        .into_iter()
        .next()
        .ok_or_else(|| "the YAML holds no DAG".to_string())?;
    Ok(kairos_state::Command::PutDagVersion {
        content,
        files: loaded.contents,
    })
}

/// The `PutDagVersion` commands for every DAG of a YAML file on disk, with the
/// files it references (Python callables, scripts) read from beside it.
pub fn put_dag_file_commands(path: &Path) -> Result<Vec<kairos_state::Command>, String> {
    let loaded = kairos_dag::load::load_file(path, &kairos_dag::load::LoadOptions::default());
    if loaded.has_errors() {
        return Err(format!("{:?}", loaded.diagnostics));
    }
    Ok(loaded
        .dags
        .into_iter()
        .map(|content| kairos_state::Command::PutDagVersion {
            content,
            files: loaded.contents.clone(),
        })
        .collect())
}

/// A chain of `n` BashOperator tasks `t00 >> t01 >> ...` of `true`, unpaused, no
/// schedule.
pub fn chain_yaml(dag_id: &str, n: usize) -> String {
    chain_yaml_of(dag_id, n, "true")
}

/// [`chain_yaml`] whose tasks run `bash_command` (single-quoted YAML).
pub fn chain_yaml_of(dag_id: &str, n: usize, bash_command: &str) -> String {
    let mut yaml = format!(
        "{dag_id}:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_tasks: 64\n  tasks:\n"
    );
    for i in 0..n {
        yaml.push_str(&format!("    t{i:02}:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: '{bash_command}'\n"));
        if i > 0 {
            yaml.push_str(&format!("      dependencies: [t{:02}]\n", i - 1));
        }
    }
    yaml
}
