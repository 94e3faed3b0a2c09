//! The Python package `kairos_airflow` (sdk/python), carried in the binary:
//! the CLI writes it out to evaluate Python DAG files with nothing installed
//! (`kairos dags validate FILE.py`), and the worker's runner puts it beside
//! each call, so that task code imports Airflow's names (`Variable`,
//! `BaseHook`, `BaseOperator`, `BaseSensorOperator`, the exceptions) and the
//! functions of a Python DAG file are found. A test checks that every file of
//! sdk/python/kairos_airflow is listed.

use std::path::Path;

/// (path below sdk/python, content).
pub const SDK_FILES: &[(&str, &str)] = &[
    (
        "kairos_airflow/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/__init__.py"),
    ),
    (
        "kairos_airflow/_accessors.py",
        include_str!("../../../sdk/python/kairos_airflow/_accessors.py"),
    ),
    (
        "kairos_airflow/_alias.py",
        include_str!("../../../sdk/python/kairos_airflow/_alias.py"),
    ),
    (
        "kairos_airflow/_assets.py",
        include_str!("../../../sdk/python/kairos_airflow/_assets.py"),
    ),
    (
        "kairos_airflow/_collect.py",
        include_str!("../../../sdk/python/kairos_airflow/_collect.py"),
    ),
    (
        "kairos_airflow/_connections.py",
        include_str!("../../../sdk/python/kairos_airflow/_connections.py"),
    ),
    (
        "kairos_airflow/_context.py",
        include_str!("../../../sdk/python/kairos_airflow/_context.py"),
    ),
    (
        "kairos_airflow/_dag.py",
        include_str!("../../../sdk/python/kairos_airflow/_dag.py"),
    ),
    (
        "kairos_airflow/_groups.py",
        include_str!("../../../sdk/python/kairos_airflow/_groups.py"),
    ),
    (
        "kairos_airflow/_labels.py",
        include_str!("../../../sdk/python/kairos_airflow/_labels.py"),
    ),
    (
        "kairos_airflow/_operator.py",
        include_str!("../../../sdk/python/kairos_airflow/_operator.py"),
    ),
    (
        "kairos_airflow/_operators.py",
        include_str!("../../../sdk/python/kairos_airflow/_operators.py"),
    ),
    (
        "kairos_airflow/_params.py",
        include_str!("../../../sdk/python/kairos_airflow/_params.py"),
    ),
    (
        "kairos_airflow/_runtime.py",
        include_str!("../../../sdk/python/kairos_airflow/_runtime.py"),
    ),
    (
        "kairos_airflow/_sensor.py",
        include_str!("../../../sdk/python/kairos_airflow/_sensor.py"),
    ),
    (
        "kairos_airflow/_serialize.py",
        include_str!("../../../sdk/python/kairos_airflow/_serialize.py"),
    ),
    (
        "kairos_airflow/_task_api.py",
        include_str!("../../../sdk/python/kairos_airflow/_task_api.py"),
    ),
    (
        "kairos_airflow/_taskflow.py",
        include_str!("../../../sdk/python/kairos_airflow/_taskflow.py"),
    ),
    (
        "kairos_airflow/_trigger_rule.py",
        include_str!("../../../sdk/python/kairos_airflow/_trigger_rule.py"),
    ),
    (
        "kairos_airflow/_values.py",
        include_str!("../../../sdk/python/kairos_airflow/_values.py"),
    ),
    (
        "kairos_airflow/_variables.py",
        include_str!("../../../sdk/python/kairos_airflow/_variables.py"),
    ),
    (
        "kairos_airflow/datasets/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/datasets/__init__.py"),
    ),
    (
        "kairos_airflow/decorators/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/decorators/__init__.py"),
    ),
    (
        "kairos_airflow/exceptions.py",
        include_str!("../../../sdk/python/kairos_airflow/exceptions.py"),
    ),
    (
        "kairos_airflow/hooks/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/hooks/__init__.py"),
    ),
    (
        "kairos_airflow/hooks/base.py",
        include_str!("../../../sdk/python/kairos_airflow/hooks/base.py"),
    ),
    (
        "kairos_airflow/models/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/models/__init__.py"),
    ),
    (
        "kairos_airflow/models/baseoperator.py",
        include_str!("../../../sdk/python/kairos_airflow/models/baseoperator.py"),
    ),
    (
        "kairos_airflow/models/connection.py",
        include_str!("../../../sdk/python/kairos_airflow/models/connection.py"),
    ),
    (
        "kairos_airflow/models/dag.py",
        include_str!("../../../sdk/python/kairos_airflow/models/dag.py"),
    ),
    (
        "kairos_airflow/models/param.py",
        include_str!("../../../sdk/python/kairos_airflow/models/param.py"),
    ),
    (
        "kairos_airflow/models/variable.py",
        include_str!("../../../sdk/python/kairos_airflow/models/variable.py"),
    ),
    (
        "kairos_airflow/operators/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/__init__.py"),
    ),
    (
        "kairos_airflow/operators/bash.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/bash.py"),
    ),
    (
        "kairos_airflow/operators/dummy.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/dummy.py"),
    ),
    (
        "kairos_airflow/operators/empty.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/empty.py"),
    ),
    (
        "kairos_airflow/operators/python.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/python.py"),
    ),
    (
        "kairos_airflow/operators/trigger_dagrun.py",
        include_str!("../../../sdk/python/kairos_airflow/operators/trigger_dagrun.py"),
    ),
    (
        "kairos_airflow/providers/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/__init__.py"),
    ),
    (
        "kairos_airflow/providers/http/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/http/__init__.py"),
    ),
    (
        "kairos_airflow/providers/http/operators/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/http/operators/__init__.py"),
    ),
    (
        "kairos_airflow/providers/http/operators/http.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/http/operators/http.py"),
    ),
    (
        "kairos_airflow/providers/standard/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/__init__.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/operators/__init__.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/bash.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/operators/bash.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/empty.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/operators/empty.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/python.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/operators/python.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/trigger_dagrun.py",
        include_str!(
            "../../../sdk/python/kairos_airflow/providers/standard/operators/trigger_dagrun.py"
        ),
    ),
    (
        "kairos_airflow/providers/standard/sensors/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/sensors/__init__.py"),
    ),
    (
        "kairos_airflow/providers/standard/sensors/bash.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/sensors/bash.py"),
    ),
    (
        "kairos_airflow/providers/standard/sensors/date_time.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/sensors/date_time.py"),
    ),
    (
        "kairos_airflow/providers/standard/sensors/external_task.py",
        include_str!(
            "../../../sdk/python/kairos_airflow/providers/standard/sensors/external_task.py"
        ),
    ),
    (
        "kairos_airflow/providers/standard/sensors/python.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/sensors/python.py"),
    ),
    (
        "kairos_airflow/providers/standard/sensors/time_delta.py",
        include_str!("../../../sdk/python/kairos_airflow/providers/standard/sensors/time_delta.py"),
    ),
    (
        "kairos_airflow/sdk/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/sdk/__init__.py"),
    ),
    (
        "kairos_airflow/sdk/bases/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/sdk/bases/__init__.py"),
    ),
    (
        "kairos_airflow/sdk/bases/hook.py",
        include_str!("../../../sdk/python/kairos_airflow/sdk/bases/hook.py"),
    ),
    (
        "kairos_airflow/sdk/bases/operator.py",
        include_str!("../../../sdk/python/kairos_airflow/sdk/bases/operator.py"),
    ),
    (
        "kairos_airflow/sdk/bases/sensor.py",
        include_str!("../../../sdk/python/kairos_airflow/sdk/bases/sensor.py"),
    ),
    (
        "kairos_airflow/sensors/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/__init__.py"),
    ),
    (
        "kairos_airflow/sensors/base.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/base.py"),
    ),
    (
        "kairos_airflow/sensors/bash.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/bash.py"),
    ),
    (
        "kairos_airflow/sensors/date_time.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/date_time.py"),
    ),
    (
        "kairos_airflow/sensors/external_task.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/external_task.py"),
    ),
    (
        "kairos_airflow/sensors/python.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/python.py"),
    ),
    (
        "kairos_airflow/sensors/time_delta.py",
        include_str!("../../../sdk/python/kairos_airflow/sensors/time_delta.py"),
    ),
    (
        "kairos_airflow/task/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/task/__init__.py"),
    ),
    (
        "kairos_airflow/task/trigger_rule.py",
        include_str!("../../../sdk/python/kairos_airflow/task/trigger_rule.py"),
    ),
    (
        "kairos_airflow/utils/__init__.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/__init__.py"),
    ),
    (
        "kairos_airflow/utils/context.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/context.py"),
    ),
    (
        "kairos_airflow/utils/dates.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/dates.py"),
    ),
    (
        "kairos_airflow/utils/edgemodifier.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/edgemodifier.py"),
    ),
    (
        "kairos_airflow/utils/task_group.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/task_group.py"),
    ),
    (
        "kairos_airflow/utils/trigger_rule.py",
        include_str!("../../../sdk/python/kairos_airflow/utils/trigger_rule.py"),
    ),
];

/// Writes the package below `dir` (`dir/kairos_airflow/...`) with `write`
/// (the worker writes each file as the task's user may read it).
pub fn write_sdk(
    dir: &Path,
    mut write: impl FnMut(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    for (rel, content) in SDK_FILES {
        let at = dir.join(rel);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        write(&at, content.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", at.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_of_the_package_is_carried() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.join("kairos_airflow")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("the package folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "py") {
                    let rel = path.strip_prefix(&root).expect("below sdk/python");
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let carried: Vec<&str> = super::SDK_FILES.iter().map(|(p, _)| *p).collect();
        assert_eq!(on_disk, carried, "list new files of sdk/python in sdk.rs");
    }
}
