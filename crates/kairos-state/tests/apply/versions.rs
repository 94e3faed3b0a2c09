//! DAG versions: numbered and deduplicated, refused without their files, and
//! each run pinned to the version it was created with.

use kairos_dag::lifecycle::DagRunState;
use kairos_state::{Command, Outcome, RejectionKind};

use crate::common::*;
use crate::support::*;

#[test]
fn versions_are_numbered_and_deduplicated_by_content() {
    let mut store = TempStore::new();
    let first = store.apply(vec![put(CHAIN)]);
    let same = store.apply(vec![put(CHAIN)]);
    let changed = store.apply(vec![put(&CHAIN.replace("echo load", "echo loaded"))]);
    let numbers: Vec<(u32, bool)> = [first, same, changed]
        .iter()
        .map(|r| match &r[0] {
            Ok(Outcome::DagVersion {
                version, created, ..
            }) => (*version, *created),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(numbers, [(1, true), (1, false), (2, true)]);
    let versions = store.store.versions("etl").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_ne!(versions[0].hash, versions[1].hash);
    // The YAML file itself is kept, by hash, and served back.
    let v1 = store.store.version_record("etl", 1).unwrap().unwrap();
    let yaml_hash = v1.content.files.values().next().unwrap();
    assert!(
        store
            .store
            .file(yaml_hash)
            .unwrap()
            .unwrap()
            .contains("echo load'")
    );
    // New DAGs start paused, as in Airflow.
    assert!(store.store.dag("etl").unwrap().unwrap().is_paused);
}

#[test]
fn a_push_without_a_file_the_cluster_lacks_is_refused() {
    let mut store = TempStore::new();
    let (content, _files) = version_of(CHAIN);
    let results = store.apply(vec![Command::PutDagVersion {
        content,
        files: Default::default(),
    }]);
    let err = results[0].clone().unwrap_err();
    assert_eq!(err.kind, RejectionKind::Invalid);
    assert!(
        err.message
            .contains("neither in the push nor in the cluster"),
        "{err}"
    );
    assert!(store.store.dag("etl").unwrap().is_none());
}

#[test]
fn runs_are_pinned_to_the_version_they_were_created_with() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    store.apply(vec![put(&CHAIN.replace(
        "    load: {operator: bash, bash_command: 'echo load', dependencies: [transform]}\n",
        "",
    ))]);
    store.apply(vec![run("etl", "r2")]);
    let r1 = store.store.run("etl", "r1").unwrap().unwrap();
    let r2 = store.store.run("etl", "r2").unwrap().unwrap();
    assert_eq!((r1.version, r2.version), (1, 2));
    assert_eq!(store.store.task_instances("etl", "r1").unwrap().len(), 3);
    assert_eq!(store.store.task_instances("etl", "r2").unwrap().len(), 2);
    assert_eq!(r1.state, DagRunState::Queued);
    // A duplicate run id is refused and changes nothing.
    let dup = store.apply(vec![run("etl", "r1")]);
    assert_eq!(
        dup[0].clone().unwrap_err().kind,
        RejectionKind::AlreadyExists
    );
    assert_eq!(store.store.run("etl", "r1").unwrap().unwrap(), r1);
}
