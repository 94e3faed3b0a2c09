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
