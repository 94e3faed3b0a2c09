//! The Raft log and vote in RocksDB, fsynced before they are acknowledged.
//!
//! A database of its own (`<data-dir>/raft-log`), apart from the state machine's:
//! the log is written with `sync = true` on every append (that fsync is the commit
//! floor), while the state machine is not synced on apply, because it can always be
//! rebuilt from the log and snapshots. Entries are written in the node's
//! [`Format`] and read in any format `codec` knows (a log written by an older
//! version stays readable).

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use crate::codec::{self, Format};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

const LOGS: &str = "logs";
const META: &str = "meta";
const VOTE: &[u8] = b"vote";
const LAST_PURGED: &[u8] = b"last_purged";
const COMMITTED: &[u8] = b"committed";

/// The log store. Cheap to clone: every clone shares the database (the log reader
/// used by replication is one such clone).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    /// How new entries are written.
    format: Format,
    /// Told how many bytes each append wrote.
    observer: Arc<dyn crate::NodeObserver>,
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl LogStore {
    pub fn open(path: &Path) -> Result<LogStore, rocksdb::Error> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        // Entries are read back soon after they are written (replication, apply)
        // and purged behind snapshots: a small memtable budget is enough, and keeps
        // a node's memory from growing with the size of its entries. 32 MiB:
        // at a million task instances (entries of 1 MiB) 64 MiB put a node's
        // peak RSS past 300 MB.
        options.set_db_write_buffer_size(32 << 20);
        // Entries are read back mostly from the memtable: a small shared block
        // cache (see the state store's `table_options`) bounds the rest.
        let cache = rocksdb::Cache::new_lru_cache(16 << 20);
        let table = kairos_state::store::table_options(&cache);
        let families = [LOGS, META].into_iter().map(|name| {
            let mut family = Options::default();
            family.set_block_based_table_factory(&table);
            ColumnFamilyDescriptor::new(name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, families)?;
        Ok(LogStore {
            db: Arc::new(db),
            format: Format::default(),
            observer: Arc::new(crate::NoObserver),
        })
    }

    /// Writes new entries in `format`, and tells `observer` what each append wrote.
    pub fn writing(mut self, format: Format, observer: Arc<dyn crate::NodeObserver>) -> LogStore {
        self.format = format;
        self.observer = observer;
        self
    }

    fn logs(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(LOGS)
            .expect("column family created at open")
    }

    fn meta(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(META)
            .expect("column family created at open")
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StorageError> {
        match self.db.get_cf(self.meta(), key).map_err(read_err)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(read_err),
        }
    }

    fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(value).map_err(write_err)?;
        self.db
            .put_cf_opt(self.meta(), key, bytes, &synced())
            .map_err(write_err)
    }

    fn last_entry(&self) -> Result<Option<Entry>, StorageError> {
        let mut iter = self.db.iterator_cf(self.logs(), IteratorMode::End);
        match iter.next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) = item.map_err(read_err)?;
                codec::decode(&value).map(Some).map_err(read_err)
            }
        }
    }
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i + 1,
            Bound::Unbounded => 0,
        };
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.logs(),
            IteratorMode::From(&index_key(start), Direction::Forward),
        );
        for item in iter {
            let (key, value) = item.map_err(read_err)?;
            let mut index = [0u8; 8];
            index.copy_from_slice(&key[..8.min(key.len())]);
            if !range.contains(&u64::from_be_bytes(index)) {
                break;
            }
            out.push(codec::decode(&value).map_err(read_err)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.get_meta(LAST_PURGED)?;
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(VOTE, vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.get_meta(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not synced: losing it only means re-learning the commit index from the leader.
        let bytes = serde_json::to_vec(&committed).map_err(write_err)?;
        self.db
            .put_cf(self.meta(), COMMITTED, bytes)
            .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get_meta::<Option<LogId>>(COMMITTED)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::default();
        let (mut count, mut written) = (0, 0);
        for entry in entries {
            let bytes = codec::encode(&entry, self.format).map_err(write_err)?;
            count += 1;
            written += bytes.len();
            batch.put_cf(self.logs(), index_key(entry.log_id.index), bytes);
        }
        self.observer.appended(count, written);
        // One fsync for everything appended together: the group commit of the log.
        let result = self.db.write_opt(batch, &synced());
        let io = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        result.map_err(write_err)
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.logs(), index_key(log_id.index), index_key(u64::MAX));
        self.db.write_opt(batch, &synced()).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point first: a crash between the two writes leaves entries
        // that are merely unused, never a hole.
        self.put_meta(LAST_PURGED, &log_id)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.logs(), index_key(0), index_key(log_id.index + 1));
        self.db.write_opt(batch, &synced()).map_err(write_err)
    }
}

/// Whether this node has ever taken part in a cluster (a vote or a log entry on disk):
/// such a node must never be initialized again.
pub fn has_state(store: &LogStore) -> Result<bool, StorageError> {
    let vote: Option<Vote> = store.get_meta(VOTE)?;
    Ok(vote.is_some() || store.last_entry()?.is_some())
}
