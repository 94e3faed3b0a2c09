//! Snapshots: the whole store as one byte stream, and a state digest.
//!
//! A snapshot is read from a RocksDB snapshot (a consistent view: apply writes whole
//! entries atomically, so the view is the state after some whole entry). Its format:
//!
//! ```text
//! "KAIROS-SNAPSHOT-2\n"   (version 1, before the `backfills` family, is read too)
//! repeated: tag(u8, the column family) klen(u32 BE) key vlen(u32 BE) value
//! 0u8 (end)
//! sha256 of everything before (32 bytes)
//! ```
//!
//! Snapshots are streamed: written to a writer and read from a reader (a file, in
//! a node), never held whole in memory, since a node with a million task
//! instances of history has one of hundreds of MiB.
//!
//! Installing one: the snapshot is checked end to end first ([`check_snapshot`]).
//! Then one synced batch deletes every family's keys (range deletions) and writes a
//! marker; the records are loaded in bounded batches without the WAL; the families
//! are flushed; the marker is removed (synced). A crash in between leaves the
//! marker, and [`Store::snapshot_install_interrupted`] tells the node to install
//! the same snapshot again before it serves anything.

use std::io::{Read, Write};

use rocksdb::{IteratorMode, ReadOptions};
use sha2::{Digest, Sha256};

use crate::keys::Cf;
use crate::store::{Store, StoreError};

/// The header snapshots are written with. Version 2 may hold the `backfills`
/// family (tag 10); a node that only knows version 1 refuses it by its header.
const MAGIC: &[u8] = b"KAIROS-SNAPSHOT-2\n";
/// Headers this node reads: today's, and version 1 (whose backfills sit in the
/// index family and are moved on install, see `crate::migrate`).
const READABLE: [&[u8]; 2] = [MAGIC, b"KAIROS-SNAPSHOT-1\n"];
/// The smallest snapshot: a header, the end marker and the checksum.
const EMPTY_LEN: u64 = MAGIC.len() as u64 + 1 + 32;
/// Bytes of records one write batch of an install carries.
const LOAD_BATCH_BYTES: usize = 8 << 20;
/// The marker an install in progress leaves in the meta family (outside the
/// `raft/` and state keys, and never in a snapshot: exports do not run while a
/// node installs).
const INSTALLING: &[u8] = b"snapshot_install_in_progress";

/// One record of a snapshot: its family, key and value.
pub type Record<'a> = (Cf, &'a [u8], &'a [u8]);

impl Store {
    /// Calls `visit` with every (family, key, value) of one consistent view, families
    /// in a fixed order and keys in byte order.
    fn visit_all(&self, visit: impl FnMut(Cf, &[u8], &[u8])) -> Result<(), StoreError> {
        self.visit_view(&self.db.snapshot(), visit)
    }

    fn visit_view(
        &self,
        view: &rocksdb::SnapshotWithThreadMode<'_, rocksdb::DB>,
        mut visit: impl FnMut(Cf, &[u8], &[u8]),
    ) -> Result<(), StoreError> {
        for cf in Cf::ALL {
            let mut read = ReadOptions::default();
            read.set_snapshot(view);
            read.set_total_order_seek(true);
            // A snapshot reads every block once: keeping them would push the
            // blocks that reads and apply need out of the cache.
            read.fill_cache(false);
            for item in self
                .db
                .iterator_cf_opt(self.handle(cf), read, IteratorMode::Start)
            {
                let (key, value) = item?;
                visit(cf, &key, &value);
            }
        }
        Ok(())
    }

    /// Writes the whole store to `out` as a snapshot, calling `visit` with each
    /// record written, and answers the bytes written. The view is taken first and
    /// the WAL synced after, so that everything in the snapshot is durable before
    /// Raft purges the log behind it (apply runs concurrently and does not sync).
    pub fn export_snapshot_to(
        &self,
        out: impl Write,
        mut visit: impl FnMut(Record<'_>),
    ) -> Result<u64, StoreError> {
        let view = self.db.snapshot();
        self.sync()?;
        let mut out = HashingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 20, out),
            hasher: Sha256::new(),
            written: 0,
            failed: None,
        };
        out.put(MAGIC);
        self.visit_view(&view, |cf, key, value| {
            out.put(&[cf.tag()]);
            out.put(&(key.len() as u32).to_be_bytes());
            out.put(key);
            out.put(&(value.len() as u32).to_be_bytes());
            out.put(value);
            visit((cf, key, value));
        })?;
        out.put(&[0]);
        out.finish()
    }

    /// The whole store as one snapshot in memory: for tests and small stores
    /// (a node streams its snapshots through files).
    pub fn export_snapshot(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.export_snapshot_to(&mut out, |_| {})?;
        Ok(out)
    }

    /// Replaces the whole store with a snapshot's content. The snapshot is checked
    /// (format and checksum) before anything is touched.
    pub fn install_snapshot(&self, data: &[u8]) -> Result<(), StoreError> {
        check_snapshot(data, data.len() as u64, |_| {})?;
        self.load_snapshot(data)
    }

    /// Replaces the whole store with the content of a snapshot that
    /// [`check_snapshot`] accepted, read again from `checked`. Memory stays
    /// bounded whatever the snapshot's size. Interrupted (a crash, an error), it
    /// leaves a marker that [`Store::snapshot_install_interrupted`] reports; the
    /// same snapshot must then be loaded again.
    pub fn load_snapshot(&self, checked: impl Read) -> Result<(), StoreError> {
        let mut reader = RecordReader::new(checked, u64::MAX)?;
        // Every family emptied and the marker set, in one synced batch.
        let mut batch = rocksdb::WriteBatch::default();
        for cf in Cf::ALL {
            let handle = self.handle(cf);
            let mut read = ReadOptions::default();
            read.set_total_order_seek(true);
            let last = self
                .db
                .iterator_cf_opt(handle, read, IteratorMode::End)
                .next()
                .transpose()?;
            if let Some((last, _)) = last {
                let mut end = last.to_vec();
                end.push(0);
                batch.delete_range_cf(handle, &[][..], &end[..]);
            }
        }
        batch.put_cf(self.handle(Cf::Meta), INSTALLING, b"1");
        self.write_synced(batch)?;
        // The records, without the WAL: the flush below makes them durable, and
        // a crash before it leaves the marker.
        let mut unlogged = rocksdb::WriteOptions::default();
        unlogged.disable_wal(true);
        let mut batch = rocksdb::WriteBatch::default();
        let (mut key, mut value) = (Vec::new(), Vec::new());
        // The applied index comes last, with the marker's removal: until then a
        // read waiting for an index (a consistent read) waits for the whole state.
        let mut applied_index = None;
        while let Some(cf) = reader.next(&mut key, &mut value)? {
            if cf == Cf::Meta && key == crate::keys::meta::APPLIED_INDEX {
                applied_index = Some(value.clone());
                continue;
            }
            // A snapshot made by an older node may hold records of an older layout
            // (backfills in the index family, see `crate::migrate`).
            if cf == Cf::Index {
                let (cf, moved) = crate::migrate::relocate(cf, &key);
                batch.put_cf(self.handle(cf), moved, &value);
            } else {
                batch.put_cf(self.handle(cf), &key, &value);
            }
            if batch.size_in_bytes() >= LOAD_BATCH_BYTES {
                self.db.write_opt(std::mem::take(&mut batch), &unlogged)?;
            }
        }
        self.db.write_opt(batch, &unlogged)?;
        for cf in Cf::ALL {
            self.db.flush_cf(self.handle(cf))?;
        }
        let mut batch = rocksdb::WriteBatch::default();
        if let Some(applied_index) = applied_index {
            batch.put_cf(
                self.handle(Cf::Meta),
                crate::keys::meta::APPLIED_INDEX,
                applied_index,
            );
        }
        batch.delete_cf(self.handle(Cf::Meta), INSTALLING);
        self.write_synced(batch)?;
        self.forget_cached_versions();
        Ok(())
    }

    /// Whether an install stopped half way ([`Store::load_snapshot`]): the state
    /// is then neither the old one nor the snapshot's.
    pub fn snapshot_install_interrupted(&self) -> Result<bool, StoreError> {
        Ok(self.get_raw(Cf::Meta, INSTALLING)?.is_some())
    }

    fn write_synced(&self, batch: rocksdb::WriteBatch) -> Result<(), StoreError> {
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        self.db.write_opt(batch, &write)?;
        Ok(())
    }

    /// `sha256:<hex>` over every record of every family: equal digests mean equal
    /// state, byte for byte.
    pub fn digest(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        let mut records: u64 = 0;
        self.visit_all(|cf, key, value| {
            hasher.update([cf.tag()]);
            hasher.update((key.len() as u32).to_be_bytes());
            hasher.update(key);
            hasher.update((value.len() as u32).to_be_bytes());
            hasher.update(value);
            records += 1;
        })?;
        hasher.update(records.to_be_bytes());
        let mut out = String::from("sha256:");
        for b in hasher.finalize().iter() {
            out.push_str(&format!("{b:02x}"));
        }
        Ok(out)
    }
}

/// Checks a snapshot of `len` bytes read from `reader` (header, every record,
/// end marker, checksum, nothing after), calling `visit` with each record as it
/// passes. The records visited are only known to be sound once this answers Ok.
pub fn check_snapshot(
    reader: impl Read,
    len: u64,
    mut visit: impl FnMut(Record<'_>),
) -> Result<(), StoreError> {
    if len < EMPTY_LEN {
        // The header still says whether it is a Kairos snapshot at all.
        RecordReader::new(reader, len)?;
        return Err(damaged("it is shorter than an empty snapshot"));
    }
    let mut reader = RecordReader::new(reader, len)?;
    let (mut key, mut value) = (Vec::new(), Vec::new());
    let read = (|| {
        while let Some(cf) = reader.next(&mut key, &mut value)? {
            visit((cf, &key, &value));
        }
        Ok(())
    })();
    // A damaged byte shows first as a record that makes no sense; the checksum
    // is the better answer when it does not match.
    reader.finish(read)
}

fn damaged(what: &str) -> StoreError {
    StoreError::Snapshot(format!("the snapshot is damaged: {what}"))
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Snapshot(format!("the snapshot could not be read or written: {e}"))
}

/// Writes through to `inner`, hashing what it writes; the first error is kept
/// and answered by [`HashingWriter::finish`].
struct HashingWriter<W: Write> {
    inner: std::io::BufWriter<W>,
    hasher: Sha256,
    written: u64,
    failed: Option<std::io::Error>,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        if let Err(e) = self.inner.write_all(bytes) {
            self.failed = Some(e);
        }
    }

    /// Appends the checksum and flushes; answers the snapshot's length.
    fn finish(mut self) -> Result<u64, StoreError> {
        if let Some(e) = self.failed.take() {
            return Err(io_error(e));
        }
        let checksum = self.hasher.finalize_reset();
        self.inner.write_all(&checksum).map_err(io_error)?;
        self.inner.flush().map_err(io_error)?;
        Ok(self.written + checksum.len() as u64)
    }
}

/// Reads a snapshot's records front to back from a stream, hashing the bytes
/// before its last 32 (the checksum) as they pass.
struct RecordReader<R: Read> {
    inner: std::io::BufReader<R>,
    /// Bytes read so far, and where the checksum starts.
    at: u64,
    body: u64,
    /// Whether bytes are hashed (not when loading a snapshot checked before).
    checking: bool,
    hasher: Sha256,
}

impl<R: Read> RecordReader<R> {
    /// Reads and checks the header of a snapshot of `len` bytes (`u64::MAX`
    /// when the snapshot was checked already and nothing is hashed).
    fn new(reader: R, len: u64) -> Result<RecordReader<R>, StoreError> {
        let mut reader = RecordReader {
            inner: std::io::BufReader::with_capacity(1 << 20, reader),
            at: 0,
            body: len.saturating_sub(32),
            checking: len != u64::MAX,
            hasher: Sha256::new(),
        };
        let mut header = Vec::with_capacity(MAGIC.len());
        (&mut reader.inner)
            .take(MAGIC.len() as u64)
            .read_to_end(&mut header)
            .map_err(io_error)?;
        reader.hash(&header);
        if READABLE.contains(&&header[..]) {
            return Ok(reader);
        }
        if !header.starts_with(b"KAIROS-SNAPSHOT-") {
            return Err(damaged("it does not start with the Kairos snapshot header"));
        }
        // A newer version's header: its whole first line, to name it.
        let mut line = header;
        if !line.ends_with(b"\n") {
            let mut rest = Vec::new();
            let _ = (&mut reader.inner).take(32).read_to_end(&mut rest);
            line.extend(rest.iter().take_while(|b| **b != b'\n'));
        }
        Err(StoreError::Snapshot(format!(
            "the snapshot was made by a newer Kairos ({:?}); this node reads {}. \
             Upgrade this node first",
            String::from_utf8_lossy(line.split(|b| *b == b'\n').next().unwrap_or(&[])),
            READABLE
                .iter()
                .map(|m| String::from_utf8_lossy(m).trim_end().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        )))
    }

    fn hash(&mut self, bytes: &[u8]) {
        let start = self.at;
        self.at += bytes.len() as u64;
        if self.checking && start < self.body {
            let hashed = (self.body - start).min(bytes.len() as u64) as usize;
            self.hasher.update(&bytes[..hashed]);
        }
    }

    /// Exactly `n` bytes into `into` (replacing what it held).
    fn read_into(&mut self, n: u64, into: &mut Vec<u8>) -> Result<(), StoreError> {
        into.clear();
        // Read as the bytes come (a damaged length cannot make it allocate gigabytes).
        (&mut self.inner)
            .take(n)
            .read_to_end(into)
            .map_err(io_error)?;
        if (into.len() as u64) < n {
            return Err(damaged("it ends inside a record"));
        }
        self.hash(into);
        Ok(())
    }

    fn field(&mut self, into: &mut Vec<u8>) -> Result<(), StoreError> {
        self.read_into(4, into)?;
        let len = u32::from_be_bytes([into[0], into[1], into[2], into[3]]);
        self.read_into(len as u64, into)
    }

    /// The next record's family, key and value; None at the end marker.
    fn next(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<Option<Cf>, StoreError> {
        self.read_into(1, key)?;
        let tag = key[0];
        if tag == 0 {
            return Ok(None);
        }
        let cf =
            Cf::from_tag(tag).ok_or_else(|| damaged("a record names an unknown column family"))?;
        self.field(key)?;
        self.field(value)?;
        Ok(Some(cf))
    }

    /// After the records were read (`read`): the checksum, and nothing after it.
    fn finish(mut self, read: Result<(), StoreError>) -> Result<(), StoreError> {
        let records_end = self.at;
        // The rest is hashed as far as the checksum, to tell a damaged byte from
        // a snapshot that was written wrong.
        let mut buf = vec![0u8; 64 << 10];
        while self.at < self.body {
            let want = (self.body - self.at).min(buf.len() as u64) as usize;
            let n = self.inner.read(&mut buf[..want]).map_err(io_error)?;
            if n == 0 {
                break;
            }
            self.hash(&buf[..n]);
        }
        let mut checksum = Vec::with_capacity(32);
        (&mut self.inner)
            .take(32)
            .read_to_end(&mut checksum)
            .map_err(io_error)?;
        if self.hasher.finalize_reset().as_slice() != checksum {
            return Err(damaged("its checksum does not match"));
        }
        read?;
        if records_end != self.body {
            return Err(damaged("it has bytes after its end marker"));
        }
        let mut after = [0u8; 1];
        if self.inner.read(&mut after).map_err(io_error)? != 0 {
            return Err(damaged("it is longer than its length"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store holding a few records in two families.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for i in 0..50u32 {
            let key = format!("k{i:03}");
            store
                .db
                .put_cf(store.handle(Cf::Meta), key.as_bytes(), vec![i as u8; 300])
                .unwrap();
            store
                .db
                .put_cf(store.handle(Cf::Index), key.as_bytes(), b"x")
                .unwrap();
        }
        (dir, store)
    }

    fn check(data: &[u8]) -> Result<usize, StoreError> {
        let mut seen = 0;
        check_snapshot(data, data.len() as u64, |_| seen += 1)?;
        Ok(seen)
    }

    #[test]
    fn a_streamed_export_checks_whole_and_loads_over_other_state() {
        let (_a, source) = store();
        let mut data = Vec::new();
        let mut visited = 0;
        let written = source
            .export_snapshot_to(&mut data, |_| visited += 1)
            .unwrap();
        assert_eq!(written, data.len() as u64);
        assert_eq!(check(&data).unwrap(), visited);
        assert_eq!(visited, 100);
        // Installed over a store with other keys: those are gone, no marker stays.
        let (_b, target) = store();
        target
            .db
            .put_cf(target.handle(Cf::Index), b"zzz", b"only here")
            .unwrap();
        target.install_snapshot(&data).unwrap();
        assert_eq!(target.digest().unwrap(), source.digest().unwrap());
        assert!(!target.snapshot_install_interrupted().unwrap());
    }

    #[test]
    fn damage_anywhere_is_refused_by_name() {
        let (_a, source) = store();
        let data = source.export_snapshot().unwrap();
        // Cut short, by a little or by a lot.
        for cut in [1, 33, data.len() / 2] {
            let error = check(&data[..data.len() - cut]).unwrap_err().to_string();
            assert!(error.contains("damaged"), "{cut}: {error}");
        }
        // A byte too many after the checksum.
        let mut longer = data.clone();
        longer.push(0);
        assert!(check(&longer).unwrap_err().to_string().contains("damaged"));
        // A key length claiming 4 GiB: refused without reading (or allocating) it.
        let mut huge = data.clone();
        let first_key_len = MAGIC.len() + 1;
        huge[first_key_len..first_key_len + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let error = check(&huge).unwrap_err().to_string();
        assert!(error.contains("checksum"), "{error}");
    }
}
