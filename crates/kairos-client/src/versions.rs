//! DAG versions: the list, one version, one of its files, and a diff. Untyped
//! until their wire types move into `kairos-api`.

use serde_json::Value;

use crate::error::Error;
use crate::path;
use crate::transport::{Client, Read, with_query};

impl Client {
    /// Every version of a DAG (`version`, `created_at`, `tasks`, `hash`, ...).
    pub async fn versions(&self, dag_id: &str, read: Read) -> Result<Vec<Value>, Error> {
        let params = read.param().into_iter().collect::<Vec<_>>();
        let list = with_query(&format!("{}/versions", path::dag(dag_id)), &params);
        self.all_values(&list, "versions").await
    }

    /// One version with its tasks.
    pub async fn version(&self, dag_id: &str, version: u32) -> Result<Value, Error> {
        self.get(&format!("{}/versions/{version}", path::dag(dag_id)))
            .await
    }

    /// One file of a version (`content`).
    pub async fn version_file(
        &self,
        dag_id: &str,
        version: u32,
        key: &str,
        read: Read,
    ) -> Result<Value, Error> {
        let key = format!("key={}", path::encode(key));
        let params: Vec<&str> = [Some(key.as_str()), read.param()]
            .into_iter()
            .flatten()
            .collect();
        let file = format!("{}/versions/{version}/file", path::dag(dag_id));
        self.get(&with_query(&file, &params)).await
    }

    /// What changed from version `from` to `to` (`changes`).
    pub async fn diff(&self, dag_id: &str, from: u32, to: u32) -> Result<Value, Error> {
        self.get(&format!("{}/versions/{from}/diff/{to}", path::dag(dag_id)))
            .await
    }
}
