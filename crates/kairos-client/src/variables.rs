//! Variables: values tasks read with `var.value.KEY`.

use kairos_api::{Variable, VariableBody, VariableList};
use reqwest::Method;

use crate::error::Error;
use crate::path::encode;
use crate::transport::{Client, Read};

impl Client {
    /// Every Variable with its value, in key order.
    pub async fn variables(&self) -> Result<Vec<Variable>, Error> {
        self.all::<VariableList>("/variables", Read::Local).await
    }

    pub async fn variable(&self, key: &str) -> Result<Variable, Error> {
        self.get(&format!("/variables/{}", encode(key))).await
    }

    /// Creates or changes a Variable; the Variable after it.
    pub async fn set_variable(
        &self,
        key: &str,
        variable: &VariableBody,
    ) -> Result<Variable, Error> {
        self.request(
            Method::PUT,
            &format!("/variables/{}", encode(key)),
            Some(variable),
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
