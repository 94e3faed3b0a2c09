//! openraft's own conformance suite for log stores and state machines, run against
//! Kairos's RocksDB log store and state machine adapter.

use std::sync::Arc;

use kairos_raft::log_store::LogStore;
use kairos_raft::state_machine::StateMachine;
use kairos_raft::types::{StorageError, TypeConfig};
use kairos_state::Store;
use openraft::testing::{StoreBuilder, Suite};

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = LogStore::open(&dir.path().join("raft-log")).expect("log store");
        let store = Arc::new(Store::open(&dir.path().join("state")).expect("state store"));
        let (applied, _) = tokio::sync::watch::channel(0);
        let sm = StateMachine::new(
            store,
            &dir.path().join("snapshots"),
            applied,
            Arc::new(kairos_raft::NoObserver),
            kairos_raft::identity::ClusterTag::in_memory(None),
        )
        .expect("state machine");
        Ok((dir, log, sm))
    }
}

#[test]
fn the_stores_pass_openraft_conformance_suite() -> Result<(), StorageError> {
    Suite::test_all(Builder)
}
