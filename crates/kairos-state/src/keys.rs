//! Column families and the byte layout of their keys.
//!
//! Keys are built so that RocksDB's byte order is the order the queries want: a
//! DAG's versions sort by number, a run's task instances sort by task id then map
//! index, and every list a query asks for is one prefix scan. Parts are separated
//! by a NUL byte, which no id can contain (ids are checked when they are created),
//! and numbers are big-endian so that they sort numerically.

/// One column family per kind of record. The names are part of the on-disk format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// `dag_id` → [`crate::records::DagRecord`].
    Dags,
    /// `dag_id \0 version(u32 BE)` → [`crate::records::VersionRecord`].
    Versions,
    /// `sha256:<hex>` → the file's text, shared between versions.
    Files,
    /// `dag_id \0 run_id` → [`crate::records::DagRunRecord`].
    Runs,
    /// `dag_id \0 run_id \0 task_id \0 map_index(i32 BE, sign flipped)` →
    /// [`crate::records::TaskInstanceRecord`].
    TaskInstances,
    /// `dag_id \0 run_id \0 task_id \0 map_index \0 key` → [`crate::records::XComRecord`].
    XComs,
    /// pool name → [`crate::records::PoolRecord`].
    Pools,
    /// Everything else: cluster settings, the last applied log id and membership
    /// (written by the Raft glue as opaque bytes).
    Meta,
    /// Derived state the scheduler keeps beside the records so that every hot question
    /// is one short prefix scan: what is scheduled or queued in priority order, what
    /// runs, which timers come due, which runs wait to start, and the counters behind
    /// pools and concurrency limits. See [`crate::engine::index`].
    Index,
}

impl Cf {
    pub const ALL: [Cf; 9] = [
        Cf::Dags,
        Cf::Versions,
        Cf::Files,
        Cf::Runs,
        Cf::TaskInstances,
        Cf::XComs,
        Cf::Pools,
        Cf::Meta,
        Cf::Index,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Dags => "dags",
            Cf::Versions => "dag_versions",
            Cf::Files => "version_files",
            Cf::Runs => "dag_runs",
            Cf::TaskInstances => "task_instances",
            Cf::XComs => "xcoms",
            Cf::Pools => "pools",
            Cf::Meta => "meta",
            Cf::Index => "indexes",
        }
    }

    /// A small number that names the family inside snapshots and digests.
    pub fn tag(self) -> u8 {
        match self {
            Cf::Dags => 1,
            Cf::Versions => 2,
            Cf::Files => 3,
            Cf::Runs => 4,
            Cf::TaskInstances => 5,
            Cf::XComs => 6,
            Cf::Pools => 7,
            Cf::Meta => 8,
            Cf::Index => 9,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Cf> {
        Cf::ALL.into_iter().find(|cf| cf.tag() == tag)
    }
}

const SEP: u8 = 0;

/// Appends `parts` separated by NUL.
pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(SEP);
        }
        key.extend_from_slice(part);
    }
    key
}

/// A map index that sorts numerically as bytes: -1 (not mapped) first, then 0, 1, ...
pub(crate) fn map_index_bytes(map_index: i32) -> [u8; 4] {
    ((map_index as u32) ^ 0x8000_0000).to_be_bytes()
}

pub fn dag(dag_id: &str) -> Vec<u8> {
    dag_id.as_bytes().to_vec()
}

pub fn version(dag_id: &str, version: u32) -> Vec<u8> {
    join(&[dag_id.as_bytes(), &version.to_be_bytes()])
}

/// The prefix of every key of one DAG in the families keyed by DAG first.
pub fn dag_prefix(dag_id: &str) -> Vec<u8> {
    let mut key = dag_id.as_bytes().to_vec();
    key.push(SEP);
    key
}

pub fn run(dag_id: &str, run_id: &str) -> Vec<u8> {
    join(&[dag_id.as_bytes(), run_id.as_bytes()])
}

/// The prefix of the task instances and XComs of one run.
pub fn run_prefix(dag_id: &str, run_id: &str) -> Vec<u8> {
    let mut key = run(dag_id, run_id);
    key.push(SEP);
    key
}

pub fn task_instance(dag_id: &str, run_id: &str, task_id: &str, map_index: i32) -> Vec<u8> {
    join(&[
        dag_id.as_bytes(),
        run_id.as_bytes(),
        task_id.as_bytes(),
        &map_index_bytes(map_index),
    ])
}

/// The prefix of every instance (the unmapped one and each mapped one) of a task
/// in a run.
pub fn task_prefix(dag_id: &str, run_id: &str, task_id: &str) -> Vec<u8> {
    let mut key = join(&[dag_id.as_bytes(), run_id.as_bytes(), task_id.as_bytes()]);
    key.push(SEP);
    key
}

/// The prefix of the XComs of one task instance.
pub fn xcom_prefix(dag_id: &str, run_id: &str, task_id: &str, map_index: i32) -> Vec<u8> {
    let mut key = task_instance(dag_id, run_id, task_id, map_index);
    key.push(SEP);
    key
}

pub fn xcom(dag_id: &str, run_id: &str, task_id: &str, map_index: i32, key: &str) -> Vec<u8> {
    let mut out = xcom_prefix(dag_id, run_id, task_id, map_index);
    out.extend_from_slice(key.as_bytes());
    out
}

pub fn pool(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

/// Meta keys written by the state machine itself.
pub mod meta {
    /// The cluster settings ([`crate::records::Settings`]).
    pub const SETTINGS: &[u8] = b"settings";
    /// The stamp of the last applied batch, so that time never runs backwards across
    /// a leader change whose clock is behind.
    pub const LAST_STAMP: &[u8] = b"last_stamp";
    /// The Raft index of the last applied entry, as the state machine saw it.
    pub const APPLIED_INDEX: &[u8] = b"applied_index";
    /// Prefix of Variables (`variable/<key>` → [`crate::records::VariableRecord`]).
    pub const VARIABLE_PREFIX: &[u8] = b"variable/";
    /// Prefix reserved for the Raft glue's own opaque records.
    pub const RAFT_PREFIX: &[u8] = b"raft/";
}

/// The Meta key of Variable `key`.
pub fn variable(key: &str) -> Vec<u8> {
    let mut k = meta::VARIABLE_PREFIX.to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_indexes_sort_numerically() {
        let keys: Vec<Vec<u8>> = [-1, 0, 1, 2, 255, 256, 70_000]
            .iter()
            .map(|&i| task_instance("d", "r", "t", i))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn versions_sort_numerically_and_stay_inside_their_dag() {
        let mut keys = vec![
            version("a", 10),
            version("a", 2),
            version("a", 1),
            version("ab", 1),
        ];
        keys.sort();
        assert_eq!(keys[0], version("a", 1));
        assert_eq!(keys[1], version("a", 2));
        assert_eq!(keys[2], version("a", 10));
        assert!(keys[..3].iter().all(|k| k.starts_with(&dag_prefix("a"))));
        assert!(!version("ab", 1).starts_with(&dag_prefix("a")));
    }

    #[test]
    fn tags_round_trip() {
        for cf in Cf::ALL {
            assert_eq!(Cf::from_tag(cf.tag()), Some(cf));
        }
    }
}
