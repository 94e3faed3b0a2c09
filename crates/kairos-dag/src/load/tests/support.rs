//! What every loader test uses: loading YAML (and the files it names) from memory,
//! and the errors of a result as (line, column, message).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::Severity;
use crate::load::{LoadOptions, LoadedFile, load_bytes};
use crate::version::VersionContent;

pub(super) fn load_with(yaml: &str, extra: &[(&str, &str)]) -> LoadedFile {
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

pub(super) fn load(yaml: &str) -> LoadedFile {
    load_with(yaml, &[])
}

pub(super) fn only_dag(f: &LoadedFile) -> &VersionContent {
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
pub(super) fn errors(f: &LoadedFile) -> Vec<(u32, u32, String)> {
    f.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let p = d.pos.unwrap_or_default();
            (p.line, p.col, d.to_string())
        })
        .collect()
}

pub(super) fn one_error(f: &LoadedFile) -> (u32, u32, String) {
    let errs = errors(f);
    assert_eq!(errs.len(), 1, "exactly one error, got: {errs:#?}");
    errs.into_iter().next().unwrap_or_default()
}
