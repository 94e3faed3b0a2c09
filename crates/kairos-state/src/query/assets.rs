//! Reads about assets: the known assets, their events, the DAGs scheduled on
//! one, and the tasks that update one.

use super::wire::page;
use crate::keys::{Cf, assets as akeys};
use crate::records::{AssetEventRecord, AssetRecord};
use crate::store::{Store, StoreError};

/// The most events a list of every asset's events reads (they are kept by
/// asset; the newest of all are found by reading them).
pub const MAX_EVENTS_SCANNED: usize = 100_000;

impl Store {
    pub fn asset(&self, uri: &str) -> Result<Option<AssetRecord>, StoreError> {
        self.get(Cf::Assets, &akeys::asset(uri))
    }

    /// Assets in URI order, after `after`.
    pub fn assets(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<AssetRecord>, StoreError> {
        let after = after.map(akeys::asset);
        Ok(self
            .scan::<AssetRecord>(
                Cf::Assets,
                &akeys::assets_prefix(),
                after.as_deref(),
                page(limit),
            )?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// Events, oldest first: of one asset, or of all (read whole, up to
    /// [`MAX_EVENTS_SCANNED`], then ordered).
    pub fn asset_events(
        &self,
        uri: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<AssetEventRecord>, StoreError> {
        let mut events: Vec<AssetEventRecord> = match uri {
            Some(uri) => self.scan::<AssetEventRecord>(
                Cf::Assets,
                &akeys::events_prefix(uri),
                None,
                MAX_EVENTS_SCANNED,
            )?,
            None => self.scan::<AssetEventRecord>(Cf::Assets, b"e\0", None, MAX_EVENTS_SCANNED)?,
        }
        .into_iter()
        .map(|(_, e)| e)
        .collect();
        events.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(limit) = limit {
            let skip = events.len().saturating_sub(limit);
            events.drain(..skip);
        }
        Ok(events)
    }

    /// The DAGs scheduled on `uri`.
    pub fn asset_consumers(&self, uri: &str) -> Result<Vec<String>, StoreError> {
        let prefix = akeys::consumers_prefix(uri);
        Ok(self
            .scan_raw(Cf::Assets, &prefix, None, usize::MAX)?
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
            .collect())
    }
}
