//! DAG versions: the list, one version, one of its files, and a diff.

use kairos_api::{Diff, FileKey, FileText, Version, VersionDetail, VersionList};

use crate::error::Error;
use crate::path;
use crate::query::query;
use crate::transport::{Client, Read, with_query};

impl Client {
    /// Every version of a DAG, oldest first.
    pub async fn versions(&self, dag_id: &str, read: Read) -> Result<Vec<Version>, Error> {
        let list = format!("{}/versions", path::dag(dag_id));
        self.all::<VersionList>(&list, read).await
    }

    /// One version with its graph, its files' hashes and its whole model.
    pub async fn version(&self, dag_id: &str, version: u32) -> Result<VersionDetail, Error> {
        self.get(&format!("{}/versions/{version}", path::dag(dag_id)))
            .await
    }

    /// One file of a version, as it shipped. (The server reads files on the node
    /// it asks, whatever `read` says.)
    pub async fn version_file(
        &self,
        dag_id: &str,
        version: u32,
        key: &str,
        read: Read,
    ) -> Result<FileText, Error> {
        let file_key = query(&FileKey {
            key: key.to_string(),
        })?;
        let params = query(&read.options())?;
        let file = format!("{}/versions/{version}/file", path::dag(dag_id));
        self.get(&with_query(&file, &[&file_key, &params])).await
    }

    /// What changed from version `from` to `to`.
    pub async fn diff(&self, dag_id: &str, from: u32, to: u32) -> Result<Diff, Error> {
        self.get(&format!("{}/versions/{from}/diff/{to}", path::dag(dag_id)))
            .await
    }
}
