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
//! Installing one replaces every family's content in one `WriteBatch`, so a crash
//! during install leaves either the old state or the new one.

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

    /// Serializes the whole store. The view is taken first and the WAL synced after,
    /// so that everything in the snapshot is durable before Raft purges the log
    /// behind it (apply runs concurrently and does not sync).
    pub fn export_snapshot(&self) -> Result<Vec<u8>, StoreError> {
        let view = self.db.snapshot();
        self.sync()?;
        // Sized first (a second read of the same view): a Vec that doubles as it
        // grows held twice the snapshot at its peak, and a snapshot at a million
        // task instances is hundreds of MiB.
        let mut size = MAGIC.len() + 1 + 32;
        self.visit_view(&view, |_, key, value| size += 9 + key.len() + value.len())?;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        self.visit_view(&view, |cf, key, value| {
            out.push(cf.tag());
            out.extend_from_slice(&(key.len() as u32).to_be_bytes());
            out.extend_from_slice(key);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        })?;
        out.push(0);
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        Ok(out)
    }

    /// Replaces the whole store with a snapshot's content, atomically. The snapshot is
    /// checked (format and checksum) before anything is touched.
    pub fn install_snapshot(&self, data: &[u8]) -> Result<(), StoreError> {
        let records = parse_snapshot(data)?;
        let mut batch = rocksdb::WriteBatch::default();
        self.visit_all(|cf, key, _| batch.delete_cf(self.handle(cf), key))?;
        for (cf, key, value) in records {
            // A snapshot made by an older node may hold records of an older layout.
            let (cf, key) = crate::migrate::relocate(cf, key);
            batch.put_cf(self.handle(cf), key, value);
        }
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        self.db.write_opt(batch, &write)?;
        self.forget_cached_versions();
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

type Record<'a> = (Cf, &'a [u8], &'a [u8]);

/// Reads a snapshot body front to back.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.rest.len() < n {
            return Err(damaged("it ends inside a record"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn field(&mut self) -> Result<&'a [u8], StoreError> {
        let len = self.take(4)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        self.take(len)
    }
}

fn damaged(what: &str) -> StoreError {
    StoreError::Snapshot(format!("the snapshot is damaged: {what}"))
}

/// Checks and splits a snapshot into its records.
pub fn parse_snapshot(data: &[u8]) -> Result<Vec<Record<'_>>, StoreError> {
    let mut records = Vec::new();
    for_each_record(data, |record| records.push(record))?;
    Ok(records)
}

/// [`parse_snapshot`] without collecting: `visit` sees each record in turn
/// (after the checksum was checked), and nothing is kept.
pub fn for_each_record<'a>(
    data: &'a [u8],
    mut visit: impl FnMut(Record<'a>),
) -> Result<(), StoreError> {
    let Some(magic) = READABLE.iter().find(|m| data.starts_with(m)) else {
        return Err(if data.starts_with(b"KAIROS-SNAPSHOT-") {
            StoreError::Snapshot(format!(
                "the snapshot was made by a newer Kairos ({:?}); this node reads {}. \
                 Upgrade this node first",
                String::from_utf8_lossy(data.split(|b| *b == b'\n').next().unwrap_or(&[])),
                READABLE
                    .iter()
                    .map(|m| String::from_utf8_lossy(m).trim_end().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
        } else {
            damaged("it does not start with the Kairos snapshot header")
        });
    };
    if data.len() < magic.len() + 1 + 32 {
        return Err(damaged("it is shorter than an empty snapshot"));
    }
    let (body, checksum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != checksum {
        return Err(damaged("its checksum does not match"));
    }
    let mut reader = Reader {
        rest: &body[magic.len()..],
    };
    loop {
        let tag = reader.take(1)?[0];
        if tag == 0 {
            break;
        }
        let cf =
            Cf::from_tag(tag).ok_or_else(|| damaged("a record names an unknown column family"))?;
        let key = reader.field()?;
        let value = reader.field()?;
        visit((cf, key, value));
    }
    if !reader.rest.is_empty() {
        return Err(damaged("it has bytes after its end marker"));
    }
    Ok(())
}
