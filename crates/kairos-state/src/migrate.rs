//! Data written by older versions of Kairos, moved into today's layout: when a
//! store opens, and record by record when a snapshot made by an older node is
//! installed. Every node runs the same moves on the same data, so digests agree.
//!
//! Moves so far:
//! - backfills sat in the index family under `Fbackfill/<id>`; they are primary
//!   data and now have their own family (`Cf::Backfills`, key `<id>`).

#[cfg(test)]
use crate::keys;
use crate::keys::Cf;
use crate::keys::index::LEGACY_BACKFILL_PREFIX;
use crate::store::{Store, StoreError};

/// Where a record read from an older layout belongs today.
pub(crate) fn relocate(cf: Cf, key: &[u8]) -> (Cf, Vec<u8>) {
    if cf == Cf::Index {
        if let Some(id) = key.strip_prefix(LEGACY_BACKFILL_PREFIX) {
            return (Cf::Backfills, id.to_vec());
        }
    }
    (cf, key.to_vec())
}

impl Store {
    /// Moves every record of an older layout to where it belongs, in one synced
    /// write; returns how many moved.
    pub(crate) fn migrate(&self) -> Result<usize, StoreError> {
        let legacy = self.scan_raw(Cf::Index, LEGACY_BACKFILL_PREFIX, None, usize::MAX)?;
        if legacy.is_empty() {
            return Ok(0);
        }
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in &legacy {
            let (cf, new_key) = relocate(Cf::Index, key);
            batch.delete_cf(self.handle(Cf::Index), key);
            batch.put_cf(self.handle(cf), new_key, value);
        }
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        self.db.write_opt(batch, &write)?;
        Ok(legacy.len())
    }
}

/// The key a backfill had before it had a family of its own (for tests of the move).
#[cfg(test)]
pub(crate) fn legacy_backfill_key(backfill_id: &str) -> Vec<u8> {
    let mut key = LEGACY_BACKFILL_PREFIX.to_vec();
    key.extend_from_slice(&keys::backfill(backfill_id));
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{BackfillRecord, ReprocessBehavior};

    fn record() -> BackfillRecord {
        BackfillRecord {
            backfill_id: "backfill-7.0".into(),
            dag_id: "etl".into(),
            from_date: chrono::DateTime::UNIX_EPOCH,
            to_date: chrono::DateTime::UNIX_EPOCH,
            max_active_runs: 2,
            reprocess_behavior: ReprocessBehavior::None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            runs: 3,
        }
    }

    /// Writes a backfill where an older Kairos kept it.
    fn write_legacy(store: &Store) {
        let bytes = serde_json::to_vec(&record()).unwrap();
        store
            .db
            .put_cf(
                store.handle(Cf::Index),
                legacy_backfill_key("backfill-7.0"),
                bytes,
            )
            .unwrap();
    }

    fn assert_moved(store: &Store) {
        let moved: Option<BackfillRecord> = store
            .get(Cf::Backfills, &keys::backfill("backfill-7.0"))
            .unwrap();
        assert_eq!(moved, Some(record()));
        assert_eq!(
            store
                .get_raw(Cf::Index, &legacy_backfill_key("backfill-7.0"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn an_older_data_dir_has_its_backfills_moved_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        write_legacy(&store);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_moved(&store);
        // Opening again moves nothing more and changes nothing.
        let digest = store.digest().unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.digest().unwrap(), digest);
    }

    /// A snapshot in version 1's format: the header of its day, and a backfill
    /// where it kept them.
    fn version_one_snapshot() -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut out = b"KAIROS-SNAPSHOT-1\n".to_vec();
        let key = legacy_backfill_key("backfill-7.0");
        let value = serde_json::to_vec(&record()).unwrap();
        out.push(Cf::Index.tag());
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(&key);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(&value);
        out.push(0);
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }

    #[test]
    fn a_version_one_snapshot_installs_in_todays_layout() {
        let new = tempfile::tempdir().unwrap();
        let new = Store::open(new.path()).unwrap();
        new.install_snapshot(&version_one_snapshot()).unwrap();
        assert_moved(&new);
    }

    #[test]
    fn a_snapshot_from_a_newer_format_is_refused_by_its_header() {
        let mut newer = version_one_snapshot();
        newer[16] = b'9';
        let store = tempfile::tempdir().unwrap();
        let store = Store::open(store.path()).unwrap();
        let error = store.install_snapshot(&newer).unwrap_err().to_string();
        assert!(error.contains("newer Kairos"), "{error}");
        assert!(error.contains("KAIROS-SNAPSHOT-9"), "{error}");
    }

    #[test]
    fn a_migrated_store_equals_one_that_applied_the_same_log_today() {
        use crate::apply::EntryToApply;
        use crate::command::{Batch, Command};
        use kairos_dag::load::{LoadOptions, load_bytes};
        let yaml = "etl:\n  schedule: '@daily'\n  start_date: 2024-01-01\n  catchup: false\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n";
        let files = std::collections::BTreeMap::new();
        let loaded = load_bytes(
            "etl.yml",
            std::path::Path::new("dags/etl.yml"),
            yaml.as_bytes(),
            &files,
            &LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let stamp = chrono::DateTime::parse_from_rfc3339("2024-02-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |d: &str| {
            chrono::DateTime::parse_from_rfc3339(d)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let batches = [
            Batch {
                stamp,
                commands: vec![Command::PutDagVersion {
                    content: loaded.dags[0].clone(),
                    files: loaded.contents.clone(),
                }],
            },
            Batch {
                stamp,
                commands: vec![Command::CreateBackfill {
                    dag_id: "etl".into(),
                    from_date: at("2024-01-01T00:00:00Z"),
                    to_date: at("2024-01-03T00:00:00Z"),
                    reprocess_behavior: ReprocessBehavior::None,
                    max_active_runs: 1,
                    conf: Default::default(),
                    triggered_by: "test".into(),
                }],
            },
        ];
        let apply = |store: &Store| {
            for (i, batch) in batches.iter().enumerate() {
                let results = store
                    .apply(&[EntryToApply {
                        index: i as u64 + 1,
                        batch: Some(batch),
                        raft_meta: Vec::new(),
                    }])
                    .unwrap();
                assert!(results[0][0].is_ok(), "{:?}", results[0][0]);
            }
        };
        let today = tempfile::tempdir().unwrap();
        let today = Store::open(today.path()).unwrap();
        apply(&today);
        // The same log on a store that then keeps its backfills where an older
        // Kairos did, reopened.
        let older = tempfile::tempdir().unwrap();
        let store = Store::open(older.path()).unwrap();
        apply(&store);
        let backfills = store
            .scan_raw(Cf::Backfills, b"", None, usize::MAX)
            .unwrap();
        assert_eq!(backfills.len(), 1);
        for (key, value) in backfills {
            let mut legacy = LEGACY_BACKFILL_PREFIX.to_vec();
            legacy.extend_from_slice(&key);
            store
                .db
                .delete_cf(store.handle(Cf::Backfills), &key)
                .unwrap();
            store
                .db
                .put_cf(store.handle(Cf::Index), legacy, value)
                .unwrap();
        }
        assert_ne!(store.digest().unwrap(), today.digest().unwrap());
        drop(store);
        let migrated = Store::open(older.path()).unwrap();
        assert_eq!(migrated.digest().unwrap(), today.digest().unwrap());
    }

    #[test]
    fn a_snapshot_from_an_older_node_installs_in_todays_layout() {
        let old = tempfile::tempdir().unwrap();
        let old = Store::open(old.path()).unwrap();
        write_legacy(&old);
        let snapshot = old.export_snapshot().unwrap();
        let new = tempfile::tempdir().unwrap();
        let new = Store::open(new.path()).unwrap();
        new.install_snapshot(&snapshot).unwrap();
        assert_moved(&new);
    }
}
