//! Assets (Airflow 2's datasets in REST API v1): the known ones, their events,
//! and an event posted by hand, which runs the DAGs scheduled on the asset.

use kairos_api::{AssetEvent, AssetEventList, AssetEventQuery, AssetList, CreateAssetEvent, Page};
use reqwest::Method;

use crate::error::Error;
use crate::query::query;
use crate::transport::{Client, with_query};

impl Client {
    /// Every asset, in URI order (read a page of 1,000 at a time).
    pub async fn assets(&self) -> Result<Vec<kairos_api::Asset>, Error> {
        let mut out = Vec::new();
        loop {
            let page = Page {
                limit: Some(1000),
                offset: Some(out.len()),
                ..Page::default()
            };
            let list: AssetList = self
                .get(&with_query("/datasets", &[&query(&page)?]))
                .await?;
            let got = list.datasets.len();
            out.extend(list.datasets);
            if got == 0 || out.len() as u64 >= list.total_entries {
                return Ok(out);
            }
        }
    }

    /// Events, newest first, filtered as `filter` says (one page of it).
    pub async fn asset_events(&self, filter: &AssetEventQuery) -> Result<Vec<AssetEvent>, Error> {
        let list: AssetEventList = self
            .get(&with_query("/datasets/events", &[&query(filter)?]))
            .await?;
        Ok(list.dataset_events)
    }

    /// Records an event of a known asset, as a producer's success would.
    pub async fn create_asset_event(&self, event: &CreateAssetEvent) -> Result<AssetEvent, Error> {
        self.request(Method::POST, "/datasets/events", Some(event))
            .await
    }
}
