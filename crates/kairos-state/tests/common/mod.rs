//! Helpers shared by the state machine's tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use kairos_dag::load::{LoadOptions, load_bytes};
use kairos_dag::version::{FileContents, VersionContent};
use kairos_state::{Batch, Command, CommandResult, EntryToApply, Store};

/// A fresh store in its own temporary folder.
pub struct TempStore {
    pub store: Store,
    _dir: tempfile::TempDir,
    next_index: u64,
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open store");
        TempStore {
            store,
            _dir: dir,
            next_index: 1,
        }
    }

    /// Applies one entry holding `commands`, stamped `stamp`.
    pub fn apply_at(&mut self, stamp: DateTime<Utc>, commands: Vec<Command>) -> Vec<CommandResult> {
        let batch = Batch { stamp, commands };
        let index = self.next_index;
        self.next_index += 1;
        let mut results = self
            .store
            .apply(&[EntryToApply {
                index,
                batch: Some(&batch),
                raft_meta: vec![],
            }])
            .expect("apply");
        results.pop().expect("one entry's results")
    }

    pub fn apply(&mut self, commands: Vec<Command>) -> Vec<CommandResult> {
        self.apply_at(t0(), commands)
    }

    pub fn path(&self) -> &Path {
        self._dir.path()
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// Loads one DAG from YAML text, with the files it references.
pub fn version_of(yaml: &str) -> (VersionContent, FileContents) {
    version_with_files(yaml, BTreeMap::new())
}

pub fn version_with_files(
    yaml: &str,
    files: BTreeMap<PathBuf, Vec<u8>>,
) -> (VersionContent, FileContents) {
    let loaded = load_bytes(
        "dags/test.yml",
        Path::new("dags/test.yml"),
        yaml.as_bytes(),
        &files,
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let version = loaded.dags.into_iter().next().expect("one DAG");
    (version, loaded.contents)
}

pub fn put(yaml: &str) -> Command {
    let (content, files) = version_of(yaml);
    Command::PutDagVersion { content, files }
}

/// A chain `extract >> transform >> load`.
pub const CHAIN: &str = "
etl:
  tasks:
    extract: {operator: bash, bash_command: 'echo extract'}
    transform: {operator: bash, bash_command: 'echo transform', dependencies: [extract]}
    load: {operator: bash, bash_command: 'echo load', dependencies: [transform]}
";
