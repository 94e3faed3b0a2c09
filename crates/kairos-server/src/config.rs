//! The server's configuration. Each setting is declared once, in [`ConfigLayer`]:
//! its flag and `KAIROS_*` variable (read by clap; flags win) and its key in the
//! `[server]` table of `kairos.toml` (read by serde). The layers are merged field
//! by field ([`Layer::over`]), then [`ConfigLayer::resolve`] fills in defaults
//! and checks the result into a [`ServerConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kairos_config_layers::{Table, read_layer, whole_number};

pub use kairos_config_layers::ConfigError;
use kairos_raft::RaftSettings;

use crate::leader::LeaderSettings;

kairos_config_layers::layer! {
    /// One layer of the server's settings, every field optional: the flags and
    /// `KAIROS_*` variables of `kairos server`, or the `[server]` table of
    /// `kairos.toml`. The help text of each field is its `--help` line.
    #[derive(Debug, Clone, Default, clap::Args, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ConfigLayer {
        /// This node's id (1, 2, 3, ...).
        #[arg(long, env = "KAIROS_NODE_ID", value_parser = whole_number::<u64>())]
        pub node_id: Option<u64>,
        /// Where this node keeps its Raft log, state and snapshots.
        #[arg(long, env = "KAIROS_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Address for Raft and client gRPC (default 127.0.0.1:7071).
        #[arg(long, env = "KAIROS_GRPC_ADDR")]
        pub grpc_addr: Option<String>,
        /// Address for HTTP: /health, /cluster (default 127.0.0.1:8081).
        #[arg(long, env = "KAIROS_HTTP_ADDR")]
        pub http_addr: Option<String>,
        /// The gRPC address the other nodes, workers and clients dial, when it is
        /// not the one listened on (listening on 0.0.0.0 in a container, dialled
        /// by its name). Default: --grpc-addr.
        #[arg(long, env = "KAIROS_ADVERTISE_GRPC_ADDR")]
        pub advertise_grpc_addr: Option<String>,
        /// The HTTP address this node is reached at, shown to others, when it is
        /// not the one listened on. Default: --http-addr.
        #[arg(long, env = "KAIROS_ADVERTISE_HTTP_ADDR")]
        pub advertise_http_addr: Option<String>,
        /// Every initial member, `1=HOST:PORT,2=HOST:PORT,...` (gRPC addresses). The
        /// lowest id initializes a new cluster once.
        #[arg(long, env = "KAIROS_PEERS")]
        pub peers: Option<String>,
        /// Raft heartbeat interval in milliseconds (default 50).
        #[arg(long, env = "KAIROS_HEARTBEAT_MS", value_parser = whole_number::<u64>())]
        pub heartbeat_ms: Option<u64>,
        /// Election timeout range, `MIN-MAX` milliseconds (default 100-200).
        #[arg(long, env = "KAIROS_ELECTION_TIMEOUT_MS")]
        pub election_timeout_ms: Option<String>,
        /// How this node writes Raft log entries and messages: `binary` (the
        /// default: MessagePack, compressed when large) or `json` (while nodes of
        /// a version before the binary format remain; every node reads both).
        #[arg(long, env = "KAIROS_RAFT_FORMAT")]
        pub raft_format: Option<String>,
        /// Build a snapshot every this many log entries (default 5000).
        #[arg(long, env = "KAIROS_SNAPSHOT_EVERY", value_parser = whole_number::<u64>())]
        pub snapshot_every: Option<u64>,
        /// Log entries kept behind a snapshot for lagging followers (default 1000).
        #[arg(long, env = "KAIROS_KEEP_BEHIND_SNAPSHOT", value_parser = whole_number::<u64>())]
        pub keep_behind_snapshot: Option<u64>,
        /// Milliseconds a silent worker keeps its attempts before they fail and retry
        /// (default 30000).
        #[arg(long, env = "KAIROS_WORKER_LEASE_MS", value_parser = whole_number::<u64>())]
        pub worker_lease_ms: Option<u64>,
        /// How often workers heartbeat, in milliseconds (default 3000; at most half the
        /// lease).
        #[arg(long, env = "KAIROS_WORKER_HEARTBEAT_MS", value_parser = whole_number::<u64>())]
        pub worker_heartbeat_ms: Option<u64>,
        /// Retention: runs that ended more than this many days ago are deleted
        /// with their task instances and XComs (default: kept for ever).
        #[arg(long, env = "KAIROS_RETENTION_DAYS", value_parser = whole_number::<u64>())]
        pub retention_days: Option<u64>,
        /// Retention: each DAG keeps at least its newest this many runs, whatever
        /// their age; alone, only that many are kept (default: all).
        #[arg(long, env = "KAIROS_RETENTION_KEEP_LAST", value_parser = whole_number::<u32>())]
        pub retention_keep_last: Option<u32>,
        /// How often the leader applies the retention policy, in seconds (default 60).
        #[arg(long, env = "KAIROS_RETENTION_INTERVAL_S", value_parser = whole_number::<u64>())]
        pub retention_interval_s: Option<u64>,
        /// A file of worker tokens, one per line (`#` starts a comment); workers must
        /// present one. Without it any worker may connect.
        #[arg(long, env = "KAIROS_WORKER_TOKEN_FILE")]
        pub worker_token_file: Option<PathBuf>,
        /// This node's certificate (PEM, from `kairos certs server`): presented on
        /// the gRPC and HTTPS ports and to the other nodes.
        #[arg(long, env = "KAIROS_TLS_CERT")]
        pub tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert.
        #[arg(long, env = "KAIROS_TLS_KEY")]
        pub tls_key: Option<PathBuf>,
        /// The cluster's CA certificate(s) (PEM): every caller must present a
        /// certificate it signed.
        #[arg(long, env = "KAIROS_TLS_CA")]
        pub tls_ca: Option<PathBuf>,
        /// Serve plain text, with no certificates: anyone who reaches the ports
        /// may use them. For a trusted loopback only (`kairos dev`, tests).
        #[arg(long, env = "KAIROS_INSECURE", num_args = 0..=1, default_missing_value = "true")]
        pub insecure: Option<bool>,
        /// REST API tokens, `ROLE TOKEN` per line (viewer, operator, admin); without
        /// it the API is open.
        #[arg(long, env = "KAIROS_API_TOKEN_FILE")]
        pub api_token_file: Option<PathBuf>,
        /// A file with the 64-hex-digit key Variables are encrypted with at rest
        /// (`openssl rand -hex 32`); without it they are stored in plain text.
        #[arg(long, env = "KAIROS_VARIABLES_KEY_FILE")]
        pub variables_key_file: Option<PathBuf>,
        /// `2=HOST:PORT,...`: reach these peers here instead of at their member
        /// addresses (a proxy or NAT on the way; the chaos suite uses it).
        #[arg(long, env = "KAIROS_PEER_ROUTES")]
        pub peer_routes: Option<String>,
    }
}

/// The resolved configuration of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub node_id: u64,
    pub data_dir: PathBuf,
    /// The addresses listened on.
    pub grpc_addr: String,
    pub http_addr: String,
    /// The addresses others reach this node at (its member record).
    pub advertise_grpc_addr: String,
    pub advertise_http_addr: String,
    /// Initial members by id (gRPC addresses), this node included when given.
    pub peers: BTreeMap<u64, String>,
    pub raft: RaftSettings,
    pub scheduler: LeaderSettings,
    /// The certificate files (`None`: `--insecure`), loaded at start.
    pub tls: Option<kairos_tls::TlsFiles>,
    pub api_tokens: crate::api::auth::ApiTokens,
    pub variables_key: Option<crate::secrets::VariableKey>,
    /// Answer API requests only for a loopback `Host` (`kairos dev`'s open API:
    /// a web page cannot reach it through DNS rebinding).
    pub api_loopback_only: bool,
}

impl ConfigLayer {
    /// The `[server]` table of the `kairos.toml` at `path`; a file that is not
    /// there is an empty layer.
    pub fn from_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        read_layer(path, Table::Server)
    }

    /// Checks the merged layer and fills in defaults.
    pub fn resolve(self) -> Result<ServerConfig, ConfigError> {
        let scheduler = self.scheduler_settings()?;
        let tls = self.tls_files();
        let api_tokens = match &self.api_token_file {
            Some(path) => {
                crate::api::auth::ApiTokens::from_file(path).map_err(ConfigError::Invalid)?
            }
            None => crate::api::auth::ApiTokens::open(),
        };
        let variables_key = self
            .variables_key_file
            .as_deref()
            .map(crate::secrets::VariableKey::from_file)
            .transpose()
            .map_err(ConfigError::Invalid)?;
        let node_id = self.node_id.ok_or_else(|| {
            ConfigError::Invalid(
                "no node id: give --node-id, KAIROS_NODE_ID or server.node_id".into(),
            )
        })?;
        if node_id == 0 {
            return Err(ConfigError::Invalid(
                "node ids start at 1; 0 is not a node id".into(),
            ));
        }
        let data_dir = self.data_dir.ok_or_else(|| {
            ConfigError::Invalid(
                "no data dir: give --data-dir, KAIROS_DATA_DIR or server.data_dir".into(),
            )
        })?;
        let grpc_addr = self
            .grpc_addr
            .unwrap_or_else(|| "127.0.0.1:7071".to_string());
        let http_addr = self
            .http_addr
            .unwrap_or_else(|| "127.0.0.1:8081".to_string());
        let advertise_grpc_addr = self
            .advertise_grpc_addr
            .unwrap_or_else(|| grpc_addr.clone());
        let advertise_http_addr = self
            .advertise_http_addr
            .unwrap_or_else(|| http_addr.clone());
        let peers = match &self.peers {
            Some(text) => parse_peers(text)?,
            None => BTreeMap::new(),
        };
        if let Some(addr) = peers.get(&node_id) {
            if addr != &advertise_grpc_addr {
                return Err(ConfigError::Invalid(format!(
                    "--peers gives node {node_id} the address {addr}, but this node is reached at \
                     {advertise_grpc_addr} (--advertise-grpc-addr, else --grpc-addr); make them the same"
                )));
            }
        }
        let mut raft = RaftSettings::default();
        if let Some(ms) = self.heartbeat_ms {
            raft.heartbeat = Duration::from_millis(ms);
        }
        if let Some(text) = &self.election_timeout_ms {
            let bad = || {
                ConfigError::Invalid(format!(
                    "election timeout {text:?} should be MIN-MAX in milliseconds, e.g. 300-600"
                ))
            };
            let (min, max) = text.split_once('-').ok_or_else(bad)?;
            let min: u64 = min.trim().parse().map_err(|_| bad())?;
            let max: u64 = max.trim().parse().map_err(|_| bad())?;
            if min >= max {
                return Err(bad());
            }
            raft.election_timeout = (Duration::from_millis(min), Duration::from_millis(max));
        }
        if raft.heartbeat >= raft.election_timeout.0 {
            return Err(ConfigError::Invalid(format!(
                "the heartbeat ({} ms) must be shorter than the election timeout ({} ms)",
                raft.heartbeat.as_millis(),
                raft.election_timeout.0.as_millis()
            )));
        }
        if let Some(text) = &self.raft_format {
            raft.format = text.parse().map_err(ConfigError::Invalid)?;
        }
        if let Some(n) = self.snapshot_every {
            raft.snapshot_every = n.max(1);
        }
        if let Some(n) = self.keep_behind_snapshot {
            raft.keep_behind_snapshot = n;
        }
        if let Some(text) = &self.peer_routes {
            raft.peer_routes = parse_peers(text)?;
        }
        // Checked last: the other settings' errors are more specific.
        let tls = tls?;
        Ok(ServerConfig {
            node_id,
            data_dir,
            grpc_addr,
            http_addr,
            advertise_grpc_addr,
            advertise_http_addr,
            peers,
            raft,
            scheduler,
            tls,
            api_tokens,
            variables_key,
            api_loopback_only: false,
        })
    }

    fn tls_files(&self) -> Result<Option<kairos_tls::TlsFiles>, ConfigError> {
        let example = match self.node_id {
            Some(id) => format!("server --node-id {id} --host <its host or IP>"),
            None => "server --node-id <id> --host <its host or IP>".to_string(),
        };
        kairos_tls::TlsFlags {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            ca: self.tls_ca.clone(),
            insecure: self.insecure.unwrap_or(false),
        }
        .choose(kairos_tls::Role::Server, &example)
        .map_err(ConfigError::Invalid)
    }

    fn scheduler_settings(&self) -> Result<LeaderSettings, ConfigError> {
        let mut settings = LeaderSettings::default();
        if let Some(ms) = self.worker_lease_ms {
            settings.lease = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = self.worker_heartbeat_ms {
            settings.heartbeat = Duration::from_millis(ms.max(1));
        }
        if settings.heartbeat * 2 > settings.lease {
            return Err(ConfigError::Invalid(format!(
                "the worker heartbeat ({} ms) must be at most half the worker lease ({} ms), \
                 or one late heartbeat fails healthy work",
                settings.heartbeat.as_millis(),
                settings.lease.as_millis()
            )));
        }
        if let Some(path) = &self.worker_token_file {
            settings.worker_tokens = read_tokens(path)?;
        }
        settings.retention = crate::retention::Policy {
            max_age: self
                .retention_days
                .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
            keep_last: self.retention_keep_last,
        };
        if let Some(s) = self.retention_interval_s {
            settings.retention_every = Duration::from_secs(s.max(1));
        }
        Ok(settings)
    }
}

/// The tokens in a token file: one per line, blank lines and `#` comments skipped.
/// An existing but empty file is an error: it would silently leave the cluster open.
pub fn read_tokens(path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let tokens: Vec<String> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{} holds no token: write one token per line",
            path.display()
        )));
    }
    Ok(tokens)
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_peers(text: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut peers = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            ConfigError::Invalid(format!(
                "peer {part:?} should be ID=HOST:PORT, e.g. 1=127.0.0.1:7071"
            ))
        };
        let (id, addr) = part.split_once('=').ok_or_else(bad)?;
        let id: u64 = id.trim().parse().map_err(|_| bad())?;
        let addr = addr.trim();
        if id == 0 || !addr.contains(':') {
            return Err(bad());
        }
        if peers.insert(id, addr.to_string()).is_some() {
            return Err(ConfigError::Invalid(format!(
                "peer {id} is given twice in --peers"
            )));
        }
    }
    Ok(peers)
}

#[cfg(test)]
mod tests;
