//! The server's configuration: command-line flags over `KAIROS_*` environment
//! variables over `kairos.toml` over defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kairos_raft::RaftSettings;
use serde::Deserialize;

use crate::leader::LeaderSettings;

/// One layer of settings, every field optional; layers are merged field by field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub node_id: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub grpc_addr: Option<String>,
    pub http_addr: Option<String>,
    /// `1=127.0.0.1:7071,2=127.0.0.1:7072,...`: every initial member's gRPC address.
    pub peers: Option<String>,
    pub heartbeat_ms: Option<u64>,
    /// `MIN-MAX` in milliseconds, e.g. `300-600`.
    pub election_timeout_ms: Option<String>,
    pub snapshot_every: Option<u64>,
    pub keep_behind_snapshot: Option<u64>,
    /// An attempt whose worker is silent this long is failed and retried.
    pub worker_lease_ms: Option<u64>,
    /// How often workers heartbeat (must be well under the lease).
    pub worker_heartbeat_ms: Option<u64>,
    /// A file of the tokens workers may present, one per line (`#` starts a
    /// comment). Without it, any worker may register.
    pub worker_token_file: Option<PathBuf>,
    /// PEM certificate (chain) and key: the gRPC port serves TLS when both are set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates this node trusts when it calls other nodes; required
    /// with TLS (a node's own certificate does not vouch for the others').
    pub tls_ca: Option<PathBuf>,
    /// A file of REST API tokens, `ROLE TOKEN` per line (viewer, operator, admin).
    /// Without it the API is open.
    pub api_token_file: Option<PathBuf>,
    /// 64 hex digits: the key Variables are encrypted with at rest. Without it
    /// they are stored in plain text (as Airflow without a Fernet key).
    pub variables_key_file: Option<PathBuf>,
    /// `2=HOST:PORT,...`: where this node reaches those peers, when not at the
    /// address the membership names (a proxy or a NAT on the way).
    pub peer_routes: Option<String>,
}

/// The file form: the settings under a `[server]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    server: ConfigLayer,
}

/// The resolved configuration of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub node_id: u64,
    pub data_dir: PathBuf,
    pub grpc_addr: String,
    pub http_addr: String,
    /// Initial members by id (gRPC addresses), this node included when given.
    pub peers: BTreeMap<u64, String>,
    pub raft: RaftSettings,
    pub scheduler: LeaderSettings,
    pub tls: Option<TlsFiles>,
    pub api_tokens: crate::api::auth::ApiTokens,
    pub variables_key: Option<crate::secrets::VariableKey>,
    /// Answer API requests only for a loopback `Host` (`kairos dev`'s open API:
    /// a web page cannot reach it through DNS rebinding).
    pub api_loopback_only: bool,
}

/// TLS material, read when the configuration is resolved so a bad path fails at
/// start with a clear message.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub ca_pem: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Parse { path: PathBuf, error: String },
    #[error("{0}")]
    Invalid(String),
}

const ENV: [&str; 18] = [
    "KAIROS_NODE_ID",
    "KAIROS_DATA_DIR",
    "KAIROS_GRPC_ADDR",
    "KAIROS_HTTP_ADDR",
    "KAIROS_PEERS",
    "KAIROS_HEARTBEAT_MS",
    "KAIROS_ELECTION_TIMEOUT_MS",
    "KAIROS_SNAPSHOT_EVERY",
    "KAIROS_KEEP_BEHIND_SNAPSHOT",
    "KAIROS_WORKER_LEASE_MS",
    "KAIROS_WORKER_HEARTBEAT_MS",
    "KAIROS_WORKER_TOKEN_FILE",
    "KAIROS_TLS_CERT",
    "KAIROS_TLS_KEY",
    "KAIROS_TLS_CA",
    "KAIROS_API_TOKEN_FILE",
    "KAIROS_VARIABLES_KEY_FILE",
    "KAIROS_PEER_ROUTES",
];

impl ConfigLayer {
    /// The layer given by `KAIROS_*` variables (read through `lookup`, so tests need
    /// not touch the process environment).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<ConfigLayer, ConfigError> {
        let number = |name: &str| -> Result<Option<u64>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(text) => text.trim().parse().map(Some).map_err(|_| {
                    ConfigError::Invalid(format!("{name}={text:?} is not a whole number"))
                }),
            }
        };
        Ok(ConfigLayer {
            node_id: number(ENV[0])?,
            data_dir: lookup(ENV[1]).map(PathBuf::from),
            grpc_addr: lookup(ENV[2]),
            http_addr: lookup(ENV[3]),
            peers: lookup(ENV[4]),
            heartbeat_ms: number(ENV[5])?,
            election_timeout_ms: lookup(ENV[6]),
            snapshot_every: number(ENV[7])?,
            keep_behind_snapshot: number(ENV[8])?,
            worker_lease_ms: number(ENV[9])?,
            worker_heartbeat_ms: number(ENV[10])?,
            worker_token_file: lookup(ENV[11]).map(PathBuf::from),
            tls_cert: lookup(ENV[12]).map(PathBuf::from),
            tls_key: lookup(ENV[13]).map(PathBuf::from),
            tls_ca: lookup(ENV[14]).map(PathBuf::from),
            api_token_file: lookup(ENV[15]).map(PathBuf::from),
            variables_key_file: lookup(ENV[16]).map(PathBuf::from),
            peer_routes: lookup(ENV[17]),
        })
    }

    /// The layer in a `kairos.toml` file (its `[server]` table).
    pub fn from_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?;
        Ok(file.server)
    }

    /// `self` where set, `below` elsewhere.
    pub fn over(self, below: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            node_id: self.node_id.or(below.node_id),
            data_dir: self.data_dir.or(below.data_dir),
            grpc_addr: self.grpc_addr.or(below.grpc_addr),
            http_addr: self.http_addr.or(below.http_addr),
            peers: self.peers.or(below.peers),
            heartbeat_ms: self.heartbeat_ms.or(below.heartbeat_ms),
            election_timeout_ms: self.election_timeout_ms.or(below.election_timeout_ms),
            snapshot_every: self.snapshot_every.or(below.snapshot_every),
            keep_behind_snapshot: self.keep_behind_snapshot.or(below.keep_behind_snapshot),
            worker_lease_ms: self.worker_lease_ms.or(below.worker_lease_ms),
            worker_heartbeat_ms: self.worker_heartbeat_ms.or(below.worker_heartbeat_ms),
            worker_token_file: self.worker_token_file.or(below.worker_token_file),
            tls_cert: self.tls_cert.or(below.tls_cert),
            tls_key: self.tls_key.or(below.tls_key),
            tls_ca: self.tls_ca.or(below.tls_ca),
            api_token_file: self.api_token_file.or(below.api_token_file),
            variables_key_file: self.variables_key_file.or(below.variables_key_file),
            peer_routes: self.peer_routes.or(below.peer_routes),
        }
    }

    /// Checks the merged layer and fills in defaults.
    pub fn resolve(self) -> Result<ServerConfig, ConfigError> {
        let scheduler = self.scheduler_settings()?;
        let tls = self.tls_files()?;
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
        let peers = match &self.peers {
            Some(text) => parse_peers(text)?,
            None => BTreeMap::new(),
        };
        if let Some(addr) = peers.get(&node_id) {
            if addr != &grpc_addr {
                return Err(ConfigError::Invalid(format!(
                    "--peers gives node {node_id} the address {addr}, but this node listens on {grpc_addr}; \
                     make them the same"
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
        if let Some(n) = self.snapshot_every {
            raft.snapshot_every = n.max(1);
        }
        if let Some(n) = self.keep_behind_snapshot {
            raft.keep_behind_snapshot = n;
        }
        if let Some(text) = &self.peer_routes {
            raft.peer_routes = parse_peers(text)?;
        }
        Ok(ServerConfig {
            node_id,
            data_dir,
            grpc_addr,
            http_addr,
            peers,
            raft,
            scheduler,
            tls,
            api_tokens,
            variables_key,
            api_loopback_only: false,
        })
    }

    fn tls_files(&self) -> Result<Option<TlsFiles>, ConfigError> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|error| ConfigError::Read {
                path: path.clone(),
                error,
            })
        };
        match (&self.tls_cert, &self.tls_key, &self.tls_ca) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), Some(ca)) => Ok(Some(TlsFiles {
                cert_pem: read(cert)?,
                key_pem: read(key)?,
                ca_pem: read(ca)?,
            })),
            _ => Err(ConfigError::Invalid(
                "TLS needs --tls-cert, --tls-key and --tls-ca (PEM files: this node's \
                 certificate, its key, and the CA that signed every node's certificate); \
                 give all three or none"
                    .into(),
            )),
        }
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
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kairos.toml");
        std::fs::write(
            &file,
            "[server]\nnode_id = 3\ndata_dir = \"/from/file\"\nhttp_addr = \"127.0.0.1:9000\"\nheartbeat_ms = 80\n",
        )
        .unwrap();
        let flags = ConfigLayer {
            node_id: Some(1),
            ..ConfigLayer::default()
        };
        let environment = ConfigLayer::from_env(env(&[
            ("KAIROS_NODE_ID", "2"),
            ("KAIROS_DATA_DIR", "/from/env"),
        ]))
        .unwrap();
        let config = flags
            .over(environment)
            .over(ConfigLayer::from_file(&file).unwrap())
            .resolve()
            .unwrap();
        assert_eq!(config.node_id, 1);
        assert_eq!(config.data_dir, PathBuf::from("/from/env"));
        assert_eq!(config.http_addr, "127.0.0.1:9000");
        assert_eq!(config.raft.heartbeat, Duration::from_millis(80));
        assert_eq!(config.grpc_addr, "127.0.0.1:7071");
    }

    #[test]
    fn bad_settings_say_what_to_give() {
        let err = ConfigLayer::default().resolve().unwrap_err().to_string();
        assert!(err.contains("--node-id"), "{err}");
        let err = parse_peers("1=127.0.0.1:7071,x=foo")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ID=HOST:PORT"), "{err}");
        let err = ConfigLayer::from_env(env(&[("KAIROS_NODE_ID", "one")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("KAIROS_NODE_ID"), "{err}");
        let layer = ConfigLayer {
            node_id: Some(1),
            data_dir: Some("/d".into()),
            election_timeout_ms: Some("900-300".into()),
            ..ConfigLayer::default()
        };
        assert!(layer.resolve().unwrap_err().to_string().contains("MIN-MAX"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kairos.toml");
        std::fs::write(&file, "[server]\nnode = 1\n").unwrap();
        let err = ConfigLayer::from_file(&file).unwrap_err().to_string();
        assert!(err.contains("kairos.toml") && err.contains("node"), "{err}");
    }

    #[test]
    fn worker_settings_come_from_every_layer() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, "# workers of team a\nalpha\n\n  beta  # team b\n").unwrap();
        let file = dir.path().join("kairos.toml");
        std::fs::write(
            &file,
            format!(
                "[server]\nworker_lease_ms = 9000\nworker_token_file = {:?}\n",
                tokens.display().to_string()
            ),
        )
        .unwrap();
        let base = ConfigLayer {
            node_id: Some(1),
            data_dir: Some("/d".into()),
            ..ConfigLayer::default()
        };
        let environment =
            ConfigLayer::from_env(env(&[("KAIROS_WORKER_HEARTBEAT_MS", "1000")])).unwrap();
        let config = base
            .clone()
            .over(environment)
            .over(ConfigLayer::from_file(&file).unwrap())
            .resolve()
            .unwrap();
        assert_eq!(config.scheduler.lease, Duration::from_millis(9000));
        assert_eq!(config.scheduler.heartbeat, Duration::from_millis(1000));
        assert_eq!(config.scheduler.worker_tokens, vec!["alpha", "beta"]);

        let slow = ConfigLayer {
            worker_heartbeat_ms: Some(20_000),
            ..base.clone()
        };
        let err = slow.resolve().unwrap_err().to_string();
        assert!(err.contains("at most half the worker lease"), "{err}");
        std::fs::write(&tokens, "# nothing here\n").unwrap();
        let empty = ConfigLayer {
            worker_token_file: Some(tokens.clone()),
            ..base
        };
        let err = empty.resolve().unwrap_err().to_string();
        assert!(err.contains("holds no token"), "{err}");
    }

    #[test]
    fn tls_needs_certificate_key_and_ca_together() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("x.pem");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let base = ConfigLayer {
            node_id: Some(1),
            data_dir: Some("/d".into()),
            ..ConfigLayer::default()
        };
        let partial = ConfigLayer {
            tls_cert: Some(pem.clone()),
            tls_key: Some(pem.clone()),
            ..base.clone()
        };
        let err = partial.resolve().unwrap_err().to_string();
        assert!(err.contains("--tls-ca"), "{err}");
        let missing = ConfigLayer {
            tls_cert: Some(pem.clone()),
            tls_key: Some(pem.clone()),
            tls_ca: Some(dir.path().join("nope.pem")),
            ..base.clone()
        };
        let err = missing.resolve().unwrap_err().to_string();
        assert!(err.contains("nope.pem"), "{err}");
        let all = ConfigLayer {
            tls_cert: Some(pem.clone()),
            tls_key: Some(pem.clone()),
            tls_ca: Some(pem),
            ..base
        };
        assert!(all.resolve().unwrap().tls.is_some());
    }

    #[test]
    fn peer_routes_reach_peers_elsewhere_and_bad_ones_are_refused() {
        let base = ConfigLayer {
            node_id: Some(1),
            data_dir: Some("/d".into()),
            ..ConfigLayer::default()
        };
        let env = ConfigLayer::from_env(|name| {
            (name == "KAIROS_PEER_ROUTES").then(|| "2=127.0.0.1:9002,3=127.0.0.1:9003".to_string())
        })
        .expect("env");
        let config = env.over(base.clone()).resolve().expect("config");
        assert_eq!(
            config.raft.peer_routes.get(&3).map(String::as_str),
            Some("127.0.0.1:9003")
        );
        let bad = ConfigLayer {
            peer_routes: Some("2=nowhere".into()),
            ..base
        };
        assert!(bad.resolve().is_err());
    }

    #[test]
    fn peers_must_agree_with_this_node() {
        let layer = ConfigLayer {
            node_id: Some(1),
            data_dir: Some("/d".into()),
            grpc_addr: Some("127.0.0.1:7071".into()),
            peers: Some("1=127.0.0.1:7999,2=127.0.0.1:7072".into()),
            ..ConfigLayer::default()
        };
        assert!(
            layer
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("make them the same")
        );
    }
}
