//! The client itself: the nodes it knows, one HTTP connection pool, and sending a
//! request to the nodes in turn. Every node answers every endpoint (a follower
//! forwards writes to the leader), so the only question is which node answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kairos_api::ReadOptions;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// How a read is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Read {
    /// From the state the answering node has applied (it may lag the leader).
    #[default]
    Local,
    /// Linearizable: as of a moment after the request arrived (`?consistent=true`).
    Consistent,
}

impl Read {
    /// The query parameters that ask for it.
    pub(crate) fn options(self) -> ReadOptions {
        ReadOptions {
            consistent: self == Read::Consistent,
        }
    }
}

/// What moves a call on to the next node, besides a node that cannot be reached
/// (always) and a read that timed out (always).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failover {
    /// A node that answers 503 (no leader yet, shutting down): ask the next. The
    /// last node's 503 is the answer.
    pub on_unavailable: bool,
    /// A write that got no answer (timed out, connection cut) is sent to the next
    /// node too. Only for callers whose writes are safe to apply twice (a run
    /// with a fixed id, a file whose second push changes nothing).
    pub resend_unanswered_writes: bool,
}

/// A client of the REST API of one or more nodes. Cloning it is cheap and shares
/// the connection pool and the node asked first.
#[derive(Clone)]
pub struct Client {
    /// `http://HOST:PORT` of each node given.
    roots: Arc<[String]>,
    /// The node that answered last: asked first next time.
    current: Arc<AtomicUsize>,
    token: Option<String>,
    http: reqwest::Client,
    failover: Failover,
}

/// Settings of a [`Client`] beyond its nodes.
pub struct Builder {
    servers: String,
    token: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    failover: Failover,
    tls: Option<kairos_tls::Tls>,
}

impl Builder {
    /// Calls over HTTPS presenting `tls`'s certificate (a client certificate of
    /// the cluster) and requiring the nodes' server certificates; `HOST:PORT`
    /// servers are then reached as `https://HOST:PORT`.
    pub fn tls(mut self, tls: Option<kairos_tls::Tls>) -> Builder {
        self.tls = tls;
        self
    }

    /// An API token, sent as `Authorization: Bearer` (servers with api_token_file).
    pub fn token(mut self, token: Option<String>) -> Builder {
        self.token = token;
        self
    }

    /// How long a whole request, and connecting, may take (60 s and 3 s unless set).
    pub fn timeouts(mut self, request: Duration, connect: Duration) -> Builder {
        self.timeout = request;
        self.connect_timeout = connect;
        self
    }

    pub fn failover(mut self, failover: Failover) -> Builder {
        self.failover = failover;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let roots: Vec<String> = self
            .servers
            .split(',')
            .map(|s| s.trim().trim_end_matches('/'))
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with("http://") || s.starts_with("https://") {
                    s.to_string()
                } else if self.tls.is_some() {
                    format!("https://{s}")
                } else {
                    format!("http://{s}")
                }
            })
            .collect();
        if roots.is_empty() {
            return Err(Error::NoServers);
        }
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout);
        if let Some(tls) = &self.tls {
            let config = tls.client_config(kairos_tls::Role::Server, kairos_tls::Alpn::Http);
            http = http.use_preconfigured_tls((*config).clone());
        }
        let http = http.build().map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Client {
            roots: roots.into(),
            current: Arc::new(AtomicUsize::new(0)),
            token: self.token,
            http,
            failover: self.failover,
        })
    }
}

impl Client {
    /// A client of the nodes at `servers`: `HOST:PORT` or URLs, comma separated.
    pub fn new(servers: &str) -> Result<Client, Error> {
        Client::builder(servers).build()
    }

    pub fn builder(servers: &str) -> Builder {
        Builder {
            servers: servers.to_string(),
            token: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(3),
            failover: Failover::default(),
            tls: None,
        }
    }

    /// How many nodes the client knows.
    pub fn nodes(&self) -> usize {
        self.roots.len()
    }

    /// A client of node `i` (in the order given) alone, sharing the connection
    /// pool; `None` when there is no such node.
    pub fn node(&self, i: usize) -> Option<Client> {
        let root = self.roots.get(i)?.clone();
        Some(Client {
            roots: vec![root].into(),
            current: Arc::new(AtomicUsize::new(0)),
            ..self.clone()
        })
    }

    /// A client of the same nodes that asks node `i % nodes` first, for callers
    /// that spread their requests; it does not share which node answered last.
    pub fn starting_at(&self, i: usize) -> Client {
        Client {
            current: Arc::new(AtomicUsize::new(i % self.roots.len())),
            ..self.clone()
        }
    }

    /// Sends a request to the nodes in turn, from the one that answered last,
    /// while they cannot be reached (a node that answers, even with an error, is
    /// final unless [`Failover`] says otherwise). A request that timed out goes
    /// to the next node only if it is a read: a write may have been applied, and
    /// sending it again could apply it twice.
    pub(crate) async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let read_only = *method == Method::GET;
        let first = self.current.load(Ordering::Relaxed);
        let n = self.roots.len();
        let mut errors = Vec::new();
        for i in 0..n {
            let k = (first + i) % n;
            let root = &self.roots[k];
            let mut request = self
                .http
                .request(method.clone(), format!("{root}/api/v1{path}"));
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response)
                    if self.failover.on_unavailable
                        && response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
                        && i + 1 < n =>
                {
                    errors.push(format!("{root}: 503 Service Unavailable"));
                }
                Ok(response) => {
                    self.current.store(k, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e)
                    if e.is_connect()
                        || (read_only && e.is_timeout())
                        || self.failover.resend_unanswered_writes =>
                {
                    errors.push(format!("{root}: {e}"));
                }
                Err(e) => {
                    return Err(Error::NoAnswer {
                        node: root.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Err(Error::Unreachable(errors.join("; ")))
    }

    /// One call under `/api/v1`: the answer's headers and text; an error status
    /// becomes [`Error::Api`] with the problem's detail.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(HeaderMap, String), Error> {
        let response = self.send(&method, path, body.as_deref()).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| Error::Body(e.to_string()))?;
        if !status.is_success() {
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(Error::Api {
                status: status.as_u16(),
                detail,
            });
        }
        Ok((headers, text))
    }

    /// A call whose answer is JSON of type `T` (an empty answer reads as JSON
    /// `null`: `()`, `Option` and `Value` take it). For endpoints this client
    /// has no method for yet.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Setup(format!("the request body is not JSON: {e}")))?;
        let (_, text) = self.call(method, path, body).await?;
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text).map_err(|e| Error::Decode(e.to_string()))
    }

    /// A GET of JSON of type `T`.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.request(Method::GET, path, None::<&()>).await
    }

    /// A write whose answer has no body (204) or one the caller does not need.
    pub(crate) async fn send_only(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(), Error> {
        self.request::<serde::de::IgnoredAny>(method, path, body)
            .await
            .map(|_| ())
    }
}

/// `path` with `params` added to its query (`path` may carry a query already;
/// empty params are skipped).
pub(crate) fn with_query(path: &str, params: &[&str]) -> String {
    let mut out = path.to_string();
    for param in params.iter().filter(|p| !p.is_empty()) {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(param);
    }
    out
}
