//! Pools: named slot limits. Untyped until their wire types move into
//! `kairos-api`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Error;
use crate::path::encode;
use crate::transport::Client;

impl Client {
    /// Every pool (`pools`).
    pub async fn pools(&self) -> Result<Value, Error> {
        self.get("/pools").await
    }

    pub async fn pool(&self, name: &str) -> Result<Value, Error> {
        self.get(&format!("/pools/{}", encode(name))).await
    }

    /// Creates or changes a pool; the pool after it.
    pub async fn set_pool(
        &self,
        name: &str,
        slots: u32,
        description: Option<&str>,
        include_deferred: bool,
    ) -> Result<Value, Error> {
        let body = json!({"slots": slots, "description": description, "include_deferred": include_deferred});
        self.request(
            Method::PUT,
            &format!("/pools/{}", encode(name)),
            Some(&body),
        )
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
