//! Backfills: the runs of a date range, created at once.

use reqwest::Method;
use serde_json::Value;

use crate::error::Error;
use crate::transport::Client;

impl Client {
    /// Creates a backfill from its request (`dag_id`, `from_date`, `to_date`,
    /// `reprocess_behavior`, ...); the answer has its `id`, `dag_run_ids` and
    /// `skipped`. Untyped until its wire types move into `kairos-api`.
    pub async fn create_backfill(&self, request: &Value) -> Result<Value, Error> {
        self.request(Method::POST, "/backfills", Some(request))
            .await
    }
}
