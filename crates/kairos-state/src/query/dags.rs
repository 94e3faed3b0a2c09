//! Reads about DAGs: one, a filtered page of them, their versions and files.

use super::filtered::filtered_page;
use super::wire::{DagFilter, VersionSummary, page};
use crate::keys::{self, Cf};
use crate::records::{DagRecord, VersionRecord};
use crate::store::{Store, StoreError, decode};

impl Store {
    pub fn dag(&self, dag_id: &str) -> Result<Option<DagRecord>, StoreError> {
        self.get(Cf::Dags, &keys::dag(dag_id))
    }

    /// DAGs in id order, after `after`, that pass `filter`.
    pub fn dags(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
        filter: &DagFilter,
    ) -> Result<Vec<DagRecord>, StoreError> {
        filtered_page(
            page(limit),
            after.map(keys::dag),
            |cursor, n| self.scan_raw(Cf::Dags, b"", cursor, n),
            |value| {
                let dag: DagRecord = decode(Cf::Dags, value)?;
                Ok(filter.admits(&dag).then_some(dag))
            },
        )
    }

    /// Every version of a DAG, oldest first, without content.
    pub fn versions(&self, dag_id: &str) -> Result<Vec<VersionSummary>, StoreError> {
        self.versions_page(dag_id, None, usize::MAX)
    }

    /// At most `limit` versions after version `after`, oldest first, without content.
    pub fn versions_page(
        &self,
        dag_id: &str,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<VersionSummary>, StoreError> {
        let after = after.map(|v| keys::version(dag_id, v));
        Ok(self
            .scan::<VersionRecord>(
                Cf::Versions,
                &keys::dag_prefix(dag_id),
                after.as_deref(),
                limit,
            )?
            .into_iter()
            .map(|(_, v)| VersionSummary {
                dag_id: v.dag_id,
                version: v.version,
                hash: v.hash,
                created_at: v.created_at,
                tasks: v.content.dag.tasks.len(),
            })
            .collect())
    }

    /// A file's text by its `sha256:` hash.
    pub fn file(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_raw(Cf::Files, hash.as_bytes())?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }
}
