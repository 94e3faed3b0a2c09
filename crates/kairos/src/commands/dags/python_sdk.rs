//! The Python package `kairos_airflow` (sdk/python), carried in the binary so
//! that `kairos dags validate FILE.py` needs nothing installed: it is written
//! to a fresh folder and put on the evaluating Python's path. A test checks
//! that every file of sdk/python/kairos_airflow is listed.

/// (path below sdk/python, content).
pub(crate) const SDK_FILES: &[(&str, &str)] = &[
    (
        "kairos_airflow/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/__init__.py"),
    ),
    (
        "kairos_airflow/_alias.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_alias.py"),
    ),
    (
        "kairos_airflow/_collect.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_collect.py"),
    ),
    (
        "kairos_airflow/_context.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_context.py"),
    ),
    (
        "kairos_airflow/_dag.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_dag.py"),
    ),
    (
        "kairos_airflow/_groups.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_groups.py"),
    ),
    (
        "kairos_airflow/_operator.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_operator.py"),
    ),
    (
        "kairos_airflow/_operators.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_operators.py"),
    ),
    (
        "kairos_airflow/_serialize.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_serialize.py"),
    ),
    (
        "kairos_airflow/_taskflow.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_taskflow.py"),
    ),
    (
        "kairos_airflow/_values.py",
        include_str!("../../../../../sdk/python/kairos_airflow/_values.py"),
    ),
    (
        "kairos_airflow/decorators/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/decorators/__init__.py"),
    ),
    (
        "kairos_airflow/exceptions.py",
        include_str!("../../../../../sdk/python/kairos_airflow/exceptions.py"),
    ),
    (
        "kairos_airflow/models/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/models/__init__.py"),
    ),
    (
        "kairos_airflow/models/baseoperator.py",
        include_str!("../../../../../sdk/python/kairos_airflow/models/baseoperator.py"),
    ),
    (
        "kairos_airflow/models/dag.py",
        include_str!("../../../../../sdk/python/kairos_airflow/models/dag.py"),
    ),
    (
        "kairos_airflow/operators/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/operators/__init__.py"),
    ),
    (
        "kairos_airflow/operators/bash.py",
        include_str!("../../../../../sdk/python/kairos_airflow/operators/bash.py"),
    ),
    (
        "kairos_airflow/operators/dummy.py",
        include_str!("../../../../../sdk/python/kairos_airflow/operators/dummy.py"),
    ),
    (
        "kairos_airflow/operators/empty.py",
        include_str!("../../../../../sdk/python/kairos_airflow/operators/empty.py"),
    ),
    (
        "kairos_airflow/operators/python.py",
        include_str!("../../../../../sdk/python/kairos_airflow/operators/python.py"),
    ),
    (
        "kairos_airflow/providers/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/providers/__init__.py"),
    ),
    (
        "kairos_airflow/providers/standard/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/providers/standard/__init__.py"),
    ),
    (
        "kairos_airflow/providers/standard/operators/__init__.py",
        include_str!(
            "../../../../../sdk/python/kairos_airflow/providers/standard/operators/__init__.py"
        ),
    ),
    (
        "kairos_airflow/providers/standard/operators/bash.py",
        include_str!(
            "../../../../../sdk/python/kairos_airflow/providers/standard/operators/bash.py"
        ),
    ),
    (
        "kairos_airflow/providers/standard/operators/empty.py",
        include_str!(
            "../../../../../sdk/python/kairos_airflow/providers/standard/operators/empty.py"
        ),
    ),
    (
        "kairos_airflow/providers/standard/operators/python.py",
        include_str!(
            "../../../../../sdk/python/kairos_airflow/providers/standard/operators/python.py"
        ),
    ),
    (
        "kairos_airflow/sdk/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/sdk/__init__.py"),
    ),
    (
        "kairos_airflow/utils/__init__.py",
        include_str!("../../../../../sdk/python/kairos_airflow/utils/__init__.py"),
    ),
    (
        "kairos_airflow/utils/context.py",
        include_str!("../../../../../sdk/python/kairos_airflow/utils/context.py"),
    ),
    (
        "kairos_airflow/utils/dates.py",
        include_str!("../../../../../sdk/python/kairos_airflow/utils/dates.py"),
    ),
    (
        "kairos_airflow/utils/task_group.py",
        include_str!("../../../../../sdk/python/kairos_airflow/utils/task_group.py"),
    ),
];

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
        assert_eq!(
            on_disk, carried,
            "list new files of sdk/python in python_sdk.rs"
        );
    }
}
