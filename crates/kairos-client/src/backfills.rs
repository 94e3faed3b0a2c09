//! Backfills: the runs of a date range, created at once.

use kairos_api::{Backfill, BackfillRequest};
use reqwest::Method;

use crate::error::Error;
use crate::transport::Client;

impl Client {
    /// Creates a backfill; its id, the runs it created (or cleared to run
    /// again) and how many dates it skipped.
    pub async fn create_backfill(&self, backfill: &BackfillRequest) -> Result<Backfill, Error> {
        self.request(Method::POST, "/backfills", Some(backfill))
            .await
    }
}
