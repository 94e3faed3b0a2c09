//! The worker's line to the cluster: one gRPC channel per known server, calls sent
//! to whichever node leads. A follower answers UNAVAILABLE with the leader's address
//! in `kairos-leader` metadata; the worker moves there. A node that does not answer
//! is left for the next address, with backoff once every address has failed.
//!
//! After a call to the leader failed (a killed leader refuses connections), the
//! next calls name it in `kairos-unreachable`: a follower that still believes in
//! that leader holds the call until a new one is known, then names it, so the
//! worker learns of the new leader the moment its node does instead of retrying
//! on a timer (`kairos-server`'s `grpc::worker::leader_wait`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use kairos_dag::limits::MAX_GRPC_MESSAGE_BYTES;
use kairos_proto::v1::worker_client::WorkerClient;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// The client type every call goes through: the worker token added to each call.
pub type Client = WorkerClient<InterceptedService<Channel, Auth>>;

/// Adds `authorization: Bearer <token>` to every call, and `kairos-unreachable`
/// while the node last believed to lead does not answer.
#[derive(Clone)]
pub struct Auth {
    header: Option<MetadataValue<tonic::metadata::Ascii>>,
    unreachable: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        if let Some(addr) = &self.unreachable {
            request
                .metadata_mut()
                .insert(kairos_proto::metadata::UNREACHABLE, addr.clone());
        }
        Ok(request)
    }
}

/// What a failed call means for the worker.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The cluster refused the worker's token: retrying will not help.
    #[error("the cluster refused this worker: {0}")]
    Unauthenticated(String),
    /// The leader does not know this worker (a new leader): register again.
    #[error("not registered with the current leader")]
    NotRegistered,
    /// The cluster answered with an error that retrying will not change.
    #[error("{0}")]
    Refused(Status),
    /// No node answered as leader before the patience ran out.
    #[error("no leader reachable: {0}")]
    Unreachable(String),
}

pub struct Conn {
    addrs: Vec<String>,
    auth: Auth,
    /// This worker's certificate, presented to the servers (which must present
    /// server certificates of its cluster); `None` with `--insecure`.
    tls: Option<kairos_tls::Tls>,
    inner: Mutex<Inner>,
}

/// How long one node may take to answer a heartbeat or a registration.
pub const TRY_CAP: Duration = Duration::from_secs(2);

/// The longest wait between two full rounds of failed calls.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

struct Inner {
    current: String,
    channels: HashMap<String, Channel>,
    /// The address a call last failed on without naming another leader, until a
    /// call succeeds: the leader that may have died.
    unreachable: Option<String>,
}

impl Conn {
    pub fn new(
        addrs: Vec<String>,
        token: Option<&str>,
        tls: Option<kairos_tls::Tls>,
    ) -> Result<Conn, String> {
        let header = match token {
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| "the worker token holds characters a header cannot carry")?,
            ),
            None => None,
        };
        let current = addrs.first().cloned().ok_or("no server addresses")?;
        Ok(Conn {
            addrs,
            auth: Auth {
                header,
                unreachable: None,
            },
            tls,
            inner: Mutex::new(Inner {
                current,
                channels: HashMap::new(),
                unreachable: None,
            }),
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The node calls go to now.
    pub fn current(&self) -> String {
        self.inner().current.clone()
    }

    fn client(&self) -> Result<(String, Client), String> {
        let mut inner = self.inner();
        let addr = inner.current.clone();
        let channel = match inner.channels.get(&addr) {
            Some(channel) => channel.clone(),
            None => {
                // TLS is the connector's job: the URI stays http://.
                let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                    .map_err(|e| format!("bad server address {addr}: {e}"))?
                    .connect_timeout(Duration::from_secs(1))
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_secs(10))
                    .keep_alive_timeout(Duration::from_secs(5));
                let channel = match &self.tls {
                    Some(tls) => {
                        kairos_tls::grpc::connect_lazy(endpoint, tls, kairos_tls::Role::Server)
                    }
                    None => endpoint.connect_lazy(),
                };
                inner.channels.insert(addr.clone(), channel.clone());
                channel
            }
        };
        let mut auth = self.auth.clone();
        auth.unreachable = inner.unreachable.as_deref().and_then(|a| a.parse().ok());
        let client = WorkerClient::with_interceptor(channel, auth)
            .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES);
        Ok((addr, client))
    }

    /// After a failed call on `addr`: go to the leader it named, else the next one.
    /// Returns true when it moved to a named leader (worth retrying at once).
    fn follow(&self, addr: &str, status: &Status) -> bool {
        let mut inner = self.inner();
        if inner.current != addr {
            return true; // another call already moved on
        }
        if let Some(leader) = status
            .metadata()
            .get(kairos_proto::metadata::LEADER)
            .and_then(|v| v.to_str().ok())
        {
            if leader != addr {
                inner.current = leader.to_string();
                return true;
            }
        }
        // Named on the next calls: a follower holds such a call until it knows
        // of a leader other than this one.
        inner.unreachable = Some(addr.to_string());
        let i = self.addrs.iter().position(|a| a == addr).unwrap_or(0);
        inner.current = self.addrs[(i + 1) % self.addrs.len()].clone();
        false
    }

    /// A call was answered: no leader is suspected of being gone.
    fn answered(&self) {
        self.inner().unreachable = None;
    }

    /// Sends `call` to the leader, following redirects and retrying unreachable
    /// nodes with backoff for up to `patience`.
    pub async fn call<T, F, Fut>(&self, patience: Duration, call: F) -> Result<T, CallError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.call_with(patience, patience, call).await
    }

    /// [`Conn::call`] where one node gets at most `per_try` to answer before the
    /// next is asked: a paused or cut-off server accepts connections and answers
    /// nothing, and heartbeats stuck on it would let leases run out on the real
    /// leader ([`TRY_CAP`] for heartbeats and registration).
    pub async fn call_with<T, F, Fut>(
        &self,
        patience: Duration,
        per_try: Duration,
        call: F,
    ) -> Result<T, CallError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let deadline = tokio::time::Instant::now() + patience;
        let mut backoff = Duration::from_millis(50);
        let mut failures = 0usize;
        loop {
            let (addr, client) = self.client().map_err(CallError::Unreachable)?;
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .max(Duration::from_millis(200));
            let status = match tokio::time::timeout(left.min(per_try), call(client)).await {
                Ok(Ok(reply)) => {
                    self.answered();
                    return Ok(reply.into_inner());
                }
                Ok(Err(status)) => status,
                Err(_) => Status::deadline_exceeded(format!(
                    "{addr} did not answer within {:?}",
                    left.min(per_try)
                )),
            };
            match status.code() {
                Code::Unauthenticated | Code::PermissionDenied => {
                    return Err(CallError::Unauthenticated(status.message().to_string()));
                }
                Code::FailedPrecondition if status.message().contains("not registered") => {
                    return Err(CallError::NotRegistered);
                }
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded => {}
                _ => return Err(CallError::Refused(status)),
            }
            let redirected = self.follow(&addr, &status);
            failures += 1;
            if tokio::time::Instant::now() >= deadline {
                return Err(CallError::Unreachable(format!(
                    "{addr}: {}",
                    status.message()
                )));
            }
            // Redirects are followed at once; a full round of failures backs off,
            // to at most 200 ms: while a new leader is elected every node answers
            // "no leader", and each moment slept past the election is a moment the
            // new leader has work and no taker (the failover benchmark measured a
            // 500 ms cap as about 0.4 s of its 1.4 s).
            if !redirected && failures % self.addrs.len() == 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
