//! A write set over the store: what apply has written so far, visible to the commands
//! after it, and turned into one atomic `WriteBatch` at the end.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::Cf;
use crate::store::{Store, StoreError, decode, encode};

pub(crate) struct Txn<'a> {
    store: &'a Store,
    /// `None` marks a delete.
    staged: BTreeMap<(Cf, Vec<u8>), Option<Vec<u8>>>,
    /// What each write replaced in `staged` (outer `None`: nothing was staged), so
    /// that a refused command can be undone without undoing the ones before it.
    undo: Vec<((Cf, Vec<u8>), Option<Option<Vec<u8>>>)>,
}

/// A point to roll back to.
pub(crate) struct Savepoint(usize);

impl<'a> Txn<'a> {
    pub(crate) fn new(store: &'a Store) -> Txn<'a> {
        Txn {
            store,
            staged: BTreeMap::new(),
            undo: Vec::new(),
        }
    }

    pub(crate) fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo.len())
    }

    /// Undoes every write since `savepoint`.
    pub(crate) fn rollback(&mut self, savepoint: Savepoint) {
        while self.undo.len() > savepoint.0 {
            let Some((key, previous)) = self.undo.pop() else {
                break;
            };
            match previous {
                Some(previous) => self.staged.insert(key, previous),
                None => self.staged.remove(&key),
            };
        }
    }

    fn stage(&mut self, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) {
        let previous = self.staged.insert((cf, key.clone()), value);
        self.undo.push(((cf, key), previous));
    }

    pub(crate) fn get_raw(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.staged.get(&(cf, key.to_vec())) {
            Some(staged) => Ok(staged.clone()),
            None => self.store.get_raw(cf, key),
        }
    }

    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        cf: Cf,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.get_raw(cf, key)? {
            None => Ok(None),
            Some(bytes) => decode(cf, &bytes).map(Some),
        }
    }

    /// A version, seeing versions written earlier in this transaction; committed ones
    /// come from the store's cache.
    pub(crate) fn version_record(
        &self,
        dag_id: &str,
        version: u32,
    ) -> Result<Option<std::sync::Arc<crate::records::VersionRecord>>, StoreError> {
        let key = crate::keys::version(dag_id, version);
        match self.staged.get(&(Cf::Versions, key)) {
            Some(Some(bytes)) => Ok(Some(std::sync::Arc::new(decode(Cf::Versions, bytes)?))),
            Some(None) => Ok(None),
            None => self.store.version_record(dag_id, version),
        }
    }

    pub(crate) fn put<T: Serialize>(&mut self, cf: Cf, key: Vec<u8>, value: &T) {
        self.stage(cf, key, Some(encode(value)));
    }

    pub(crate) fn put_raw(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.stage(cf, key, Some(value));
    }

    pub(crate) fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        self.stage(cf, key, None);
    }

    /// Every record under `prefix`, the staged writes laid over the store's.
    pub(crate) fn scan<T: DeserializeOwned>(
        &self,
        cf: Cf,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self
            .store
            .scan_raw(cf, prefix, None, usize::MAX)?
            .into_iter()
            .collect();
        let from = (cf, prefix.to_vec());
        for ((staged_cf, key), value) in self.staged.range(from..) {
            if *staged_cf != cf || !key.starts_with(prefix) {
                break;
            }
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        merged
            .into_iter()
            .map(|(k, v)| decode(cf, &v).map(|t| (k, t)))
            .collect()
    }

    /// At most `limit` raw pairs under `prefix` after `after` (exclusive), in key
    /// order, the staged writes laid over the store's. Unlike [`Txn::scan`] this reads
    /// only as much of the store and of the staged writes as it returns (plus
    /// deletes it skips), for indexes that may be long.
    pub(crate) fn scan_page(
        &self,
        cf: Cf,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.scan_page_from(cf, prefix, after, None, limit)
    }

    /// [`Txn::scan_page`] of an index consumed from its front (scheduled, queued,
    /// timers): the store is read from where its live keys begin, not through the
    /// tombstones before them (see [`crate::scan_hint`]). The staged writes are
    /// still read from `after`, so the result is the same.
    pub(crate) fn scan_index_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let live = self.store.index_live_from(prefix)?;
        let from = live
            .or_else(|| crate::store::prefix_end(prefix))
            .unwrap_or_default();
        self.scan_page_from(Cf::Index, prefix, after, Some(&from), limit)
    }

    /// [`Txn::scan_page`] whose first read of the store starts at `store_from`
    /// (inclusive) when that is past `after`: the caller knows no stored key under
    /// the prefix below it is live.
    fn scan_page_from(
        &self,
        cf: Cf,
        prefix: &[u8],
        after: Option<&[u8]>,
        store_from: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        const PAGE: usize = 256;
        let exclusive = after.filter(|a| *a >= prefix);
        let lower = exclusive.unwrap_or(prefix).to_vec();
        let mut staged = self
            .staged
            .range((cf, lower)..)
            .take_while(|((c, k), _)| *c == cf && k.starts_with(prefix))
            .filter(|((_, k), _)| Some(k.as_slice()) != exclusive)
            .peekable();
        let mut stored: std::collections::VecDeque<(Vec<u8>, Vec<u8>)> = Default::default();
        let mut cursor: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        let mut skip_to: Option<&[u8]> = store_from.filter(|from| after.is_none_or(|a| *from > a));
        let mut store_done = false;
        let mut out = Vec::new();
        // A merge of two sorted streams; a staged write hides the stored value of its key.
        while out.len() < limit {
            if stored.is_empty() && !store_done {
                let page = match skip_to.take() {
                    Some(from) => self.store.scan_raw_from(cf, prefix, from, PAGE)?,
                    None => self.store.scan_raw(cf, prefix, cursor.as_deref(), PAGE)?,
                };
                store_done = page.len() < PAGE;
                cursor = page.last().map(|(k, _)| k.clone()).or(cursor);
                stored.extend(page);
            }
            let take_staged = match (stored.front(), staged.peek()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some((s, _)), Some(((_, t), _))) => t <= s,
            };
            if take_staged {
                let Some(((_, key), value)) = staged.next() else {
                    break;
                };
                if stored.front().is_some_and(|(s, _)| s == key) {
                    stored.pop_front();
                }
                if let Some(value) = value {
                    out.push((key.clone(), value.clone()));
                }
            } else if let Some(pair) = stored.pop_front() {
                out.push(pair);
            }
        }
        Ok(out)
    }

    /// The last pair under `prefix` below `before`, staged writes included.
    pub(crate) fn last_before(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        let mut bound = before.to_vec();
        loop {
            let stored = self.store.last_before(cf, prefix, &bound)?;
            let staged = self
                .staged
                .range((cf, prefix.to_vec())..(cf, bound.clone()))
                .next_back()
                .filter(|((c, k), _)| *c == cf && k.starts_with(prefix))
                .map(|((_, k), v)| (k.clone(), v.clone()));
            let pick = match (stored, staged) {
                (None, None) => return Ok(None),
                (Some((k, v)), None) => match self.staged.get(&(cf, k.clone())) {
                    Some(None) => {
                        bound = k;
                        continue;
                    }
                    Some(Some(v2)) => (k, Some(v2.clone())),
                    None => (k, Some(v)),
                },
                (None, Some((k, v))) => (k, v),
                (Some((sk, sv)), Some((tk, tv))) => {
                    if tk >= sk {
                        (tk, tv)
                    } else {
                        match self.staged.get(&(cf, sk.clone())) {
                            Some(None) => {
                                bound = sk;
                                continue;
                            }
                            _ => (sk, Some(sv)),
                        }
                    }
                }
            };
            match pick {
                (k, Some(v)) => return Ok(Some((k, v))),
                (k, None) => bound = k,
            }
        }
    }

    /// The scheduling plan of a version, seeing versions written earlier in this
    /// transaction.
    pub(crate) fn plan(
        &self,
        dag_id: &str,
        version: u32,
    ) -> Result<Option<std::sync::Arc<crate::plan::Plan>>, StoreError> {
        let key = crate::keys::version(dag_id, version);
        match self.staged.get(&(Cf::Versions, key)) {
            Some(Some(_)) => Ok(self
                .version_record(dag_id, version)?
                .map(|v| std::sync::Arc::new(crate::plan::Plan::of(v)))),
            Some(None) => Ok(None),
            None => self.store.plan(dag_id, version),
        }
    }

    /// Writes everything staged in one atomic batch.
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        let mut hinted_puts = Vec::new();
        let mut versions_deleted = false;
        for ((cf, key), value) in self.staged {
            let handle = self.store.handle(cf);
            versions_deleted |= cf == Cf::Versions && value.is_none();
            match value {
                Some(value) => {
                    batch.put_cf(handle, &key, value);
                    if cf == Cf::Index && crate::keys::index::hinted_prefix_of(&key).is_some() {
                        hinted_puts.push(key);
                    }
                }
                None => batch.delete_cf(handle, key),
            }
        }
        self.store.db.write(batch)?;
        if versions_deleted {
            // A deleted DAG's numbers may come back with other content (the DAG
            // pushed again): its cached versions and plans must not.
            self.store.forget_cached_versions();
        }
        // After the write: see scan_hint for why the order matters.
        for key in hinted_puts {
            if let Some(prefix) = crate::keys::index::hinted_prefix_of(&key) {
                self.store.hints.put(prefix, &key);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_page_lays_staged_writes_over_the_store_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut txn = Txn::new(&store);
        for i in (0..600u32).step_by(2) {
            txn.put_raw(
                Cf::Pools,
                format!("k{i:04}").into_bytes(),
                b"stored".to_vec(),
            );
        }
        txn.put_raw(Cf::Pools, b"other".to_vec(), b"x".to_vec());
        txn.commit().unwrap();
        let mut txn = Txn::new(&store);
        for i in (1..600u32).step_by(2) {
            txn.put_raw(
                Cf::Pools,
                format!("k{i:04}").into_bytes(),
                b"staged".to_vec(),
            );
        }
        txn.delete(Cf::Pools, b"k0100".to_vec());
        txn.put_raw(Cf::Pools, b"k0200".to_vec(), b"over".to_vec());
        let mut all = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = txn.scan_page(Cf::Pools, b"k", after.as_deref(), 7).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 7);
            after = page.last().map(|(k, _)| k.clone());
            all.extend(page);
        }
        let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..600u32)
            .filter(|&i| i != 100)
            .map(|i| {
                let value: &[u8] = match i {
                    200 => b"over",
                    i if i % 2 == 0 => b"stored",
                    _ => b"staged",
                };
                (format!("k{i:04}").into_bytes(), value.to_vec())
            })
            .collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn rollback_undoes_only_what_came_after_the_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut txn = Txn::new(&store);
        txn.put_raw(Cf::Pools, b"kept".to_vec(), b"1".to_vec());
        txn.put_raw(Cf::Pools, b"changed".to_vec(), b"before".to_vec());
        let savepoint = txn.savepoint();
        txn.put_raw(Cf::Pools, b"changed".to_vec(), b"after".to_vec());
        txn.put_raw(Cf::Pools, b"new".to_vec(), b"2".to_vec());
        txn.delete(Cf::Pools, b"kept".to_vec());
        assert_eq!(txn.get_raw(Cf::Pools, b"kept").unwrap(), None);
        txn.rollback(savepoint);
        txn.commit().unwrap();
        assert_eq!(
            store.get_raw(Cf::Pools, b"kept").unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(
            store.get_raw(Cf::Pools, b"changed").unwrap(),
            Some(b"before".to_vec())
        );
        assert_eq!(store.get_raw(Cf::Pools, b"new").unwrap(), None);
    }

    #[test]
    fn scans_see_staged_writes_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut txn = Txn::new(&store);
        for key in ["a/1", "a/2", "b/1"] {
            txn.put(Cf::Pools, key.as_bytes().to_vec(), &key);
        }
        txn.commit().unwrap();
        let mut txn = Txn::new(&store);
        txn.delete(Cf::Pools, b"a/1".to_vec());
        txn.put(Cf::Pools, b"a/3".to_vec(), &"a/3");
        let keys: Vec<String> = txn
            .scan::<String>(Cf::Pools, b"a/")
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(keys, ["a/2", "a/3"]);
    }
}
