//! The runner's client of the REST API: tries every node in turn, and records
//! each answer it acts on (the history the checker reads).

use std::time::Duration;

use serde_json::{Value, json};

use crate::workload::DagFile;

pub struct Api {
    nodes: Vec<String>,
    http: reqwest::Client,
}

/// What a call came to.
#[derive(Debug)]
pub enum Answer {
    /// A node answered with this status and body.
    Status(u16, Value),
    /// No node answered: the request may or may not have been applied (the
    /// text says why, for the report).
    #[allow(dead_code)]
    Unknown(String),
}

impl Api {
    pub fn new(nodes: Vec<String>) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_millis(500))
            .build()
            .unwrap_or_default();
        Api { nodes, http }
    }

    /// One call to `node` (an index) only.
    pub async fn call_node(
        &self,
        node: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let Some(addr) = self.nodes.get(node) else {
            return Answer::Unknown(format!("no node {node}"));
        };
        let mut request = self
            .http
            .request(method, format!("http://{addr}/api/v1{path}"));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                Answer::Status(
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                )
            }
            Err(e) => Answer::Unknown(format!("{addr}: {e}")),
        }
    }

    /// A call to the nodes in turn, starting at `first`, until one answers with
    /// something other than 503 (no leader yet) or nothing.
    pub async fn call(
        &self,
        first: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut last = Answer::Unknown("no node was asked".into());
        for i in 0..self.nodes.len() {
            let node = (first + i) % self.nodes.len();
            let answer = self.call_node(node, method.clone(), path, body).await;
            match &answer {
                Answer::Status(503, _) | Answer::Unknown(_) => last = answer,
                Answer::Status(_, _) => return answer,
            }
        }
        last
    }

    pub async fn push(&self, first: usize, dag: &DagFile) -> Answer {
        let body = json!({
            "file_name": dag.file_name,
            "content": dag.yaml,
            "files": dag.files,
        });
        self.call(first, reqwest::Method::POST, "/dagFiles", Some(&body))
            .await
    }

    pub async fn get(&self, first: usize, path: &str) -> Answer {
        self.call(first, reqwest::Method::GET, path, None).await
    }

    /// Every page of a list (`items` in each page).
    pub async fn all_pages(&self, path: &str, items: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let joiner = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut page = format!("{path}{joiner}limit=1000&consistent=true");
            if let Some(a) = &after {
                page.push_str(&format!("&after={a}"));
            }
            match self.get(0, &page).await {
                Answer::Status(200, body) => {
                    out.extend(body[items].as_array().cloned().unwrap_or_default());
                    match body["next"].as_str() {
                        Some(next) => after = Some(next.replace(':', "%3A")),
                        None => return Ok(out),
                    }
                }
                other => return Err(format!("GET {page}: {other:?}")),
            }
        }
    }
}
