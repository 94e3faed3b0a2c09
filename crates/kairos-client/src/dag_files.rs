//! Pushing a DAG file with the files it references.

use kairos_api::{PushRequest, PushResponse};
use reqwest::Method;

use crate::error::Error;
use crate::transport::Client;

impl Client {
    /// Uploads one DAG file with the files it references; the server validates
    /// it and makes a new version of each DAG that changed, and answers each
    /// DAG's version and whether it is new.
    pub async fn push_dag_file(&self, push: &PushRequest) -> Result<PushResponse, Error> {
        self.request(Method::POST, "/dagFiles", Some(push)).await
    }
}
