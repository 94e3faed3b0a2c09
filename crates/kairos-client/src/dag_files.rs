//! Pushing a DAG file with the files it references.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Error;
use crate::transport::Client;

impl Client {
    /// Uploads one DAG file (`content`, named `file_name`) with the files it
    /// references; the server validates it and makes a new version of each DAG
    /// that changed. The answer (`dags`: `dag_id`, `version`, `created`) is
    /// untyped until its wire type moves into `kairos-api`.
    pub async fn push_dag_file(
        &self,
        file_name: &str,
        content: &str,
        files: &BTreeMap<String, String>,
        bundle: Option<&str>,
    ) -> Result<Value, Error> {
        let mut body = json!({"file_name": file_name, "content": content, "files": files});
        if let Some(bundle) = bundle {
            body["bundle"] = json!(bundle);
        }
        self.request(Method::POST, "/dagFiles", Some(&body)).await
    }
}
