//! The CLI's client of the REST API. `--server` names one node or several (comma
//! separated): a node that does not answer is skipped for the next, so a command
//! keeps working while any node of the list is up. Every node answers every
//! endpoint (writes are forwarded to the leader by the node).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

pub(crate) struct Api {
    /// `http://HOST:PORT` of each node given.
    roots: Vec<String>,
    /// The node that answered last: asked first next time.
    current: AtomicUsize,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    /// A client of the API at `servers` (`HOST:PORT` or URLs, comma separated).
    pub(crate) fn to(servers: &str, token: Option<String>) -> Result<Api, String> {
        let roots: Vec<String> = servers
            .split(',')
            .map(|s| s.trim().trim_end_matches('/'))
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with("http://") || s.starts_with("https://") {
                    s.to_string()
                } else {
                    format!("http://{s}")
                }
            })
            .collect();
        if roots.is_empty() {
            return Err("--server is empty: give a node's HTTP address, HOST:PORT".into());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Api {
            roots,
            current: AtomicUsize::new(0),
            token,
            http,
        })
    }

    /// Sends a request built for a node's root, trying each node in turn while
    /// they cannot be reached (a node that answers, even with an error, is final).
    /// A request that timed out goes to the next node only if it is a read: a
    /// write may have been applied, and sending it again could apply it twice.
    async fn send(
        &self,
        read_only: bool,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let first = self.current.load(Ordering::Relaxed);
        let mut errors = Vec::new();
        for i in 0..self.roots.len() {
            let n = (first + i) % self.roots.len();
            let root = &self.roots[n];
            let mut request = build(root);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response) => {
                    self.current.store(n, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) if e.is_connect() || (read_only && e.is_timeout()) => {
                    errors.push(format!("{root}: {e}"));
                }
                Err(e) => return Err(format!("{root} did not answer: {e}")),
            }
        }
        Err(format!("no server answered: {}", errors.join("; ")))
    }

    /// A node's `/health` (needs no token).
    pub(crate) async fn health(&self) -> Result<Value, String> {
        let response = self
            .send(true, |root| self.http.get(format!("{root}/api/v1/health")))
            .await?;
        let text = response.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// One call under `/api/v1`; a problem answer becomes its detail.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(reqwest::header::HeaderMap, String), String> {
        let body = body.map(|b| b.to_string());
        let read_only = method == reqwest::Method::GET;
        let response = self
            .send(read_only, |root| {
                let request = self
                    .http
                    .request(method.clone(), format!("{root}/api/v1{path}"));
                match &body {
                    Some(body) => request
                        .header("content-type", "application/json")
                        .body(body.clone()),
                    None => request,
                }
            })
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(format!("{} ({})", detail, status.as_u16()));
        }
        Ok((headers, text))
    }

    pub(crate) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (_, text) = self.call(method, path, body).await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| format!("the API answered something else than JSON: {e}"))
    }

    /// Every item of a paged list (`items` in each page), following `next`.
    /// `path` may carry its own query (filters).
    pub(crate) async fn all_pages(&self, path: &str, items: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let joiner = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut page_path = format!("{path}{joiner}limit=1000");
            if let Some(a) = &after {
                page_path.push_str(&format!("&after={}", urlencode(a)));
            }
            let page = self.json(reqwest::Method::GET, &page_path, None).await?;
            out.extend(page[items].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => return Ok(out),
            }
        }
    }
}

/// Percent-encodes a path or query component.
pub(crate) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
