//! Variables: values tasks read with `var.value.KEY`. Untyped until their wire
//! types move into `kairos-api`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Error;
use crate::path::encode;
use crate::transport::Client;

impl Client {
    /// Every Variable (`key`, `value`, `description`).
    pub async fn variables(&self) -> Result<Vec<Value>, Error> {
        self.all_values("/variables", "variables").await
    }

    pub async fn variable(&self, key: &str) -> Result<Value, Error> {
        self.get(&format!("/variables/{}", encode(key))).await
    }

    /// Creates or changes a Variable.
    pub async fn set_variable(
        &self,
        key: &str,
        value: &str,
        description: Option<&str>,
    ) -> Result<(), Error> {
        let body = json!({"value": value, "description": description});
        self.send_only(
            Method::PUT,
            &format!("/variables/{}", encode(key)),
            Some(&body),
        )
        .await
    }

    pub async fn delete_variable(&self, key: &str) -> Result<(), Error> {
        self.send_only(
            Method::DELETE,
            &format!("/variables/{}", encode(key)),
            None::<&()>,
        )
        .await
    }
}
