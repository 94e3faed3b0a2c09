//! The names `dev.rs` still reaches for while it is rewritten on another branch:
//! `super::api_client::{Api, urlencode}`, an untyped wrapper of
//! `kairos_client::Client` with the methods it calls, and `super::remote::...`
//! (see `mod.rs`). Delete this file and both aliases in `mod.rs` once `dev.rs`
//! uses `kairos_client` and `dags::upload` by their own names.

use kairos_client::{Client, Method};
use serde_json::Value;

use super::dags::upload::Upload;

pub(crate) use kairos_client::encode as urlencode;

pub(crate) struct Api(Client);

impl Api {
    /// A client of the API at `servers` (`HOST:PORT` or URLs, comma separated).
    pub(crate) fn to(servers: &str, token: Option<String>) -> Result<Api, String> {
        Client::builder(servers)
            .token(token)
            .build()
            .map(Api)
            .map_err(|e| e.to_string())
    }

    pub(crate) async fn health(&self) -> Result<Value, String> {
        self.0.health().await.map_err(|e| e.to_string())
    }

    pub(crate) async fn push(
        &self,
        upload: &Upload,
        bundle: Option<&str>,
    ) -> Result<Value, String> {
        upload.push(&self.0, bundle).await
    }

    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.0
            .request(method, path, body.as_ref())
            .await
            .map_err(|e| e.to_string())
    }
}
