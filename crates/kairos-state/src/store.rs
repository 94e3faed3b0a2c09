//! The RocksDB store under the state machine: opening it, typed reads and scans.
//!
//! Writes happen only through [`crate::apply`] (one `WriteBatch` per applied group of
//! entries), [`crate::snapshot`] (one `WriteBatch` per installed snapshot) and, once
//! when a store opens, `crate::migrate` (moving an older layout's records, the same
//! on every node), so the store is always the state after some whole number of log
//! entries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions};
use serde::de::DeserializeOwned;

use crate::keys::Cf;
use crate::plan::Plan;
use crate::records::VersionRecord;

/// Errors of the store itself (not refused commands, which are
/// [`crate::command::Rejection`]s).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("RocksDB: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("a stored {what} record could not be read ({error}); the data dir may be damaged")]
    Corrupt { what: &'static str, error: String },
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// An answer could not be turned into JSON (a bug: every answer type is plain data).
    #[error("an answer could not be encoded as JSON: {0}")]
    Encode(String),
}

/// The state machine's RocksDB database.
pub struct Store {
    pub(crate) db: DB,
    path: PathBuf,
    /// Parsed versions, by DAG and number. Versions never change once written, so
    /// this cache can never be stale; it only saves re-parsing on every transition.
    versions: Mutex<HashMap<(String, u32), Arc<VersionRecord>>>,
    /// Scheduling plans (graph, priority weights), computed once per version for the
    /// same reason.
    plans: Mutex<HashMap<(String, u32), Arc<Plan>>>,
    /// Where the live keys of the front-consumed indexes begin (see
    /// [`crate::scan_hint`]).
    pub(crate) hints: crate::scan_hint::ScanHints,
}

/// Bytes of memtables the state store keeps across its column families.
const MEMTABLE_BUDGET: usize = 96 << 20;
/// Bytes of the block cache the state store's families share, index and filter
/// blocks included. Unset, RocksDB gives each family its own 32 MiB cache and
/// keeps index and filter blocks outside any cache, growing with the data: at
/// a million task instances that took a node past its memory target.
const BLOCK_CACHE: usize = 64 << 20;

/// Table options for every family of a store: one bounded cache holds data,
/// index and filter blocks alike (level-0 index and filters stay pinned, since
/// every read consults them).
///
/// Indexes and bloom filters are partitioned (RocksDB's two-level index): each
/// table file's index is cut into 4 KiB pieces under a small top level, and a
/// read brings into the cache only the piece it needs. With one index block per
/// file, a history past a few million task instances had more index than the
/// cache holds: every seek read and decompressed a whole index block of its
/// file again (over half of a follower's CPU at two million, replication
/// timing out, elections one after the other). The filters spare a lookup of a
/// missing key (every new run and task instance is one) the files that cannot
/// hold it: the bench's million task instances of history were written in
/// 50-56 s with them, 81 s without.
pub fn table_options(cache: &rocksdb::Cache) -> rocksdb::BlockBasedOptions {
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_bloom_filter(10.0, false);
    table.set_partition_filters(true);
    table.set_metadata_block_size(4096);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table
}

/// How many parsed versions the cache keeps before it starts over.
const VERSION_CACHE_LIMIT: usize = 4096;

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Small machines: keep RocksDB's own threads few.
        options.increase_parallelism(2);
        // Memtables of all families together: RocksDB's default is 64 MiB per
        // family, two each, which a node with a long history filled to most of
        // its resident memory (the scale benchmark). Past the cap the largest
        // memtable is flushed early.
        options.set_db_write_buffer_size(MEMTABLE_BUDGET);
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE);
        let table = table_options(&cache);
        let families = Cf::ALL.iter().map(|cf| {
            let mut family = Options::default();
            family.set_compression_type(rocksdb::DBCompressionType::Lz4);
            family.set_write_buffer_size(MEMTABLE_BUDGET / 4);
            family.set_block_based_table_factory(&table);
            ColumnFamilyDescriptor::new(cf.name(), family)
        });
        let db = DB::open_cf_descriptors(&options, path, families)?;
        let store = Store {
            db,
            path: path.to_path_buf(),
            versions: Mutex::new(HashMap::new()),
            plans: Mutex::new(HashMap::new()),
            hints: Default::default(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn handle(&self, cf: Cf) -> &rocksdb::ColumnFamily {
        // Every family in `Cf::ALL` is created by `open`, so the lookup cannot fail.
        self.db
            .cf_handle(cf.name())
            .expect("column family created at open")
    }

    /// The raw value under `key`.
    pub fn get_raw(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.handle(cf), key)?)
    }

    /// The record under `key`, parsed.
    pub fn get<T: DeserializeOwned>(&self, cf: Cf, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.get_raw(cf, key)? {
            None => Ok(None),
            Some(bytes) => decode(cf, &bytes).map(Some),
        }
    }

    /// Raw pairs whose key starts with `prefix`, in key order, starting after `after`
    /// (exclusive) when given, at most `limit` of them.
    pub fn scan_raw(
        &self,
        cf: Cf,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let start: Vec<u8> = match after {
            Some(after) if after >= prefix => {
                let mut start = after.to_vec();
                start.push(0);
                start
            }
            _ => prefix.to_vec(),
        };
        self.scan_raw_from(cf, prefix, &start, limit)
    }

    /// The first live key of the index under `prefix` (None: there is none), read
    /// from the prefix's scan hint, which it raises: for the indexes consumed from
    /// their front, whose tombstones it then walks once instead of at every scan
    /// (see [`crate::scan_hint`]).
    pub(crate) fn index_live_from(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .scan_index_hinted(prefix, 1)?
            .into_iter()
            .next()
            .map(|(key, _)| key))
    }

    /// At most `limit` (at least 1) pairs of the index under `prefix`, read from
    /// its scan hint, which the first of them raises.
    pub(crate) fn scan_index_hinted(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let start = self.hints.start(prefix);
        let pairs = self.scan_raw_from(
            Cf::Index,
            prefix,
            start.from.as_deref().unwrap_or(prefix),
            limit.max(1),
        )?;
        let end = prefix_end(prefix).unwrap_or_default();
        self.hints.advance(
            prefix,
            start,
            pairs.first().map(|(key, _)| key.clone()),
            end,
        );
        Ok(pairs)
    }

    /// Raw pairs whose key starts with `prefix`, in key order, from the first key at
    /// or above `from`, at most `limit` of them.
    pub(crate) fn scan_raw_from(
        &self,
        cf: Cf,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let start = if from >= prefix { from } else { prefix };
        let read = bounded(prefix);
        let iter = self.db.iterator_cf_opt(
            self.handle(cf),
            read,
            IteratorMode::From(start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Raw pairs whose key starts with `prefix`, in reverse key order, starting below
    /// `before` (exclusive) when given, else at the prefix's last key; at most `limit`.
    /// It serves "newest first" listings from indexes kept in date order.
    pub fn scan_raw_back(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        // The first key past every key with this prefix, unless `before` is lower.
        let end = match before {
            Some(before) => before.to_vec(),
            None => match prefix_end(prefix) {
                Some(end) => end,
                None => return Ok(Vec::new()),
            },
        };
        let read = bounded(prefix);
        let iter = self.db.iterator_cf_opt(
            self.handle(cf),
            read,
            IteratorMode::From(&end, Direction::Reverse),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if key.as_ref() >= end.as_slice() {
                continue;
            }
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Parsed records whose key starts with `prefix`, in key order.
    pub fn scan<T: DeserializeOwned>(
        &self,
        cf: Cf,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        self.scan_raw(cf, prefix, after, limit)?
            .into_iter()
            .map(|(k, v)| decode(cf, &v).map(|t| (k, t)))
            .collect()
    }

    /// A version, parsed once and then served from the cache.
    pub fn version_record(
        &self,
        dag_id: &str,
        version: u32,
    ) -> Result<Option<Arc<VersionRecord>>, StoreError> {
        let cache_key = (dag_id.to_string(), version);
        if let Ok(cache) = self.versions.lock() {
            if let Some(found) = cache.get(&cache_key) {
                return Ok(Some(found.clone()));
            }
        }
        let Some(record) =
            self.get::<VersionRecord>(Cf::Versions, &crate::keys::version(dag_id, version))?
        else {
            return Ok(None);
        };
        let record = Arc::new(record);
        if let Ok(mut cache) = self.versions.lock() {
            if cache.len() >= VERSION_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(cache_key, record.clone());
        }
        Ok(Some(record))
    }

    /// The scheduling plan of a version, built once and then served from the cache.
    pub(crate) fn plan(&self, dag_id: &str, version: u32) -> Result<Option<Arc<Plan>>, StoreError> {
        let cache_key = (dag_id.to_string(), version);
        if let Ok(cache) = self.plans.lock() {
            if let Some(found) = cache.get(&cache_key) {
                return Ok(Some(found.clone()));
            }
        }
        let Some(record) = self.version_record(dag_id, version)? else {
            return Ok(None);
        };
        let plan = Arc::new(Plan::of(record));
        if let Ok(mut cache) = self.plans.lock() {
            if cache.len() >= VERSION_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(cache_key, plan.clone());
        }
        Ok(Some(plan))
    }

    /// A version and one of its tasks, found through the version's cached plan (an
    /// index by task id) rather than a search of the task list.
    pub fn version_task(
        &self,
        dag_id: &str,
        version: u32,
        task_id: &str,
    ) -> Result<Option<(Arc<VersionRecord>, kairos_dag::model::Task)>, StoreError> {
        Ok(self.plan(dag_id, version)?.and_then(|plan| {
            plan.index_of(task_id)
                .map(|i| (plan.version.clone(), plan.task(i).clone()))
        }))
    }

    /// Whether `ti`'s task has direct downstream tasks in its run's version (a
    /// report of a leaf has nothing to hand over). False when the run or task
    /// is gone.
    pub fn has_downstream(&self, ti: &crate::command::TaskInstanceKey) -> Result<bool, StoreError> {
        let Some(run) = self.get::<crate::records::DagRunRecord>(
            Cf::Runs,
            &crate::keys::run(&ti.dag_id, &ti.run_id),
        )?
        else {
            return Ok(false);
        };
        Ok(self.plan(&ti.dag_id, run.version)?.is_some_and(|plan| {
            plan.index_of(&ti.task_id)
                .is_some_and(|i| !plan.downstream(i).is_empty())
        }))
    }

    /// The last pair under `prefix` whose key is below `before`.
    pub fn last_before(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        let read = bounded(prefix);
        let iter = self.db.iterator_cf_opt(
            self.handle(cf),
            read,
            IteratorMode::From(before, Direction::Reverse),
        );
        for item in iter {
            let (key, value) = item?;
            if key.as_ref() >= before {
                continue;
            }
            if !key.starts_with(prefix) {
                return Ok(None);
            }
            return Ok(Some((key.to_vec(), value.to_vec())));
        }
        Ok(None)
    }

    /// Forgets every cached version (after a snapshot replaced the store's content).
    pub(crate) fn forget_cached_versions(&self) {
        self.hints.clear();
        if let Ok(mut cache) = self.versions.lock() {
            cache.clear();
        }
        if let Ok(mut cache) = self.plans.lock() {
            cache.clear();
        }
    }

    /// Makes every applied write durable (the WAL is synced). Apply itself does not
    /// sync: the Raft log is the durable record and a crash re-applies from it. This
    /// is called before a snapshot lets the log be purged.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true)?;
        Ok(())
    }
}

/// Read options for a scan of the keys under `prefix`: the iterator is bounded to
/// them, so that it stops at the prefix's end instead of stepping over whatever
/// deleted keys (tombstones, until a compaction) lie beyond it looking for the
/// next live one. Without the bounds, a scan of a short queue walked every
/// tombstone of the index after it, on every worker poll.
fn bounded(prefix: &[u8]) -> ReadOptions {
    let mut read = ReadOptions::default();
    read.set_total_order_seek(true);
    read.set_iterate_lower_bound(prefix.to_vec());
    if let Some(end) = prefix_end(prefix) {
        read.set_iterate_upper_bound(end);
    }
    read
}

/// The smallest key above every key that starts with `prefix` (None when the prefix
/// is all 0xFF bytes, which no key of ours is).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

pub(crate) fn decode<T: DeserializeOwned>(cf: Cf, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: cf.name(),
        error: e.to_string(),
    })
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Records are plain data with string keys: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
