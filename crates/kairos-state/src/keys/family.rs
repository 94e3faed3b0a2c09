//! The column families: one per kind of record. Their names and tags are part of
//! the on-disk and snapshot formats.

/// One column family per kind of record.
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
    /// Everything else: cluster settings, Variables, the last applied log id and
    /// membership (written by the Raft glue as opaque bytes). See [`super::meta`].
    Meta,
    /// Derived state the scheduler keeps beside the records so that every hot question
    /// is one short prefix scan: what is scheduled or queued in priority order, what
    /// runs, which timers come due, which runs wait to start, and the counters behind
    /// pools and concurrency limits; also the history of ended tries. See
    /// [`super::index`].
    Index,
    /// backfill id → [`crate::records::BackfillRecord`]. (Before this family existed,
    /// backfills sat in `indexes` under `Fbackfill/`; opening a store moves them,
    /// see `crate::migrate`.)
    Backfills,
    /// bundle name → [`crate::records::BundleRecord`].
    Bundles,
    /// `bundle \0 version(u32 BE)` → [`crate::records::BundleVersionRecord`].
    BundleVersions,
    /// Assets and their events (see [`super::assets`]): `a \0 uri` →
    /// [`crate::records::AssetRecord`], `e \0 uri \0 event id` →
    /// [`crate::records::AssetEventRecord`], and two derived kinds: `c \0 uri \0
    /// dag_id` (the DAGs scheduled on an asset) and `q \0 dag_id \0 uri` (the
    /// events a DAG has not run for yet, Airflow's asset DAG run queue).
    Assets,
}

impl Cf {
    pub const ALL: [Cf; 13] = [
        Cf::Dags,
        Cf::Versions,
        Cf::Files,
        Cf::Runs,
        Cf::TaskInstances,
        Cf::XComs,
        Cf::Pools,
        Cf::Meta,
        Cf::Index,
        Cf::Backfills,
        Cf::Bundles,
        Cf::BundleVersions,
        Cf::Assets,
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
            Cf::Backfills => "backfills",
            Cf::Bundles => "bundles",
            Cf::BundleVersions => "bundle_versions",
            Cf::Assets => "assets",
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
            Cf::Backfills => 10,
            Cf::Bundles => 11,
            Cf::BundleVersions => 12,
            Cf::Assets => 13,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Cf> {
        Cf::ALL.into_iter().find(|cf| cf.tag() == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        for cf in Cf::ALL {
            assert_eq!(Cf::from_tag(cf.tag()), Some(cf));
        }
    }
}
