//! Pools: named slot limits.

use kairos_api::{Pool, PoolBody, PoolList};
use reqwest::Method;

use crate::error::Error;
use crate::path::encode;
use crate::transport::Client;

impl Client {
    /// Every pool, `default_pool` included.
    pub async fn pools(&self) -> Result<Vec<Pool>, Error> {
        let list: PoolList = self.get("/pools").await?;
        Ok(list.pools)
    }

    pub async fn pool(&self, name: &str) -> Result<Pool, Error> {
        self.get(&format!("/pools/{}", encode(name))).await
    }

    /// Creates or changes a pool; the pool after it.
    pub async fn set_pool(&self, name: &str, pool: &PoolBody) -> Result<Pool, Error> {
        self.request(Method::PUT, &format!("/pools/{}", encode(name)), Some(pool))
            .await
    }

    pub async fn delete_pool(&self, name: &str) -> Result<(), Error> {
        self.send_only(
            Method::DELETE,
            &format!("/pools/{}", encode(name)),
            None::<&()>,
        )
        .await
    }
}
