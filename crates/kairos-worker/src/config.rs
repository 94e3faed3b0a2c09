//! The worker's configuration: command-line flags over `KAIROS_*` environment
//! variables over the `[worker]` table of `kairos.toml` over defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// One layer of settings, every field optional; layers are merged field by field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerLayer {
    /// `HOST:PORT,HOST:PORT,...`: gRPC addresses of any cluster members.
    pub servers: Option<String>,
    /// `default,etl`: the queues this worker takes tasks from.
    pub queues: Option<String>,
    pub slots: Option<u32>,
    /// `NAME=PATH_TO_PYTHON,...`: the execution environments this worker has.
    pub envs: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Stable across restarts, so the cluster finds the attempts it handed out.
    pub worker_id: Option<String>,
    /// Where logs, spooled results, cached files and attempt directories live.
    pub data_dir: Option<PathBuf>,
    /// Where the worker serves attempt logs (`HOST:PORT`; port 0 picks one).
    pub http_addr: Option<String>,
    /// The address the cluster should use to reach `http_addr` (defaults to it).
    pub advertise_http: Option<String>,
    /// Seconds between SIGTERM and SIGKILL when an attempt is stopped.
    pub kill_grace_secs: Option<u64>,
    /// PEM CA certificates to verify the servers with; TLS when set.
    pub tls_ca: Option<PathBuf>,
    /// Append every attempt's start and end to this file (JSON lines).
    pub attempt_log: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    worker: WorkerLayer,
    /// Servers' settings share the file; the worker ignores them.
    #[serde(default)]
    #[allow(dead_code)]
    server: Option<toml::Value>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub servers: Vec<String>,
    pub queues: Vec<String>,
    pub slots: u32,
    /// Environment name → Python interpreter.
    pub envs: BTreeMap<String, PathBuf>,
    pub token: Option<String>,
    pub worker_id: String,
    pub data_dir: PathBuf,
    pub http_addr: String,
    pub advertise_http: Option<String>,
    pub kill_grace: Duration,
    /// The CA certificates (PEM) when the servers serve TLS.
    pub tls_ca: Option<Vec<u8>>,
    /// See [`crate::attempt_log`].
    pub attempt_log: Option<PathBuf>,
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

impl WorkerLayer {
    /// The layer given by `KAIROS_*` variables (read through `lookup`).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<WorkerLayer, ConfigError> {
        let number = |name: &str| -> Result<Option<u64>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(text) => text.trim().parse().map(Some).map_err(|_| {
                    ConfigError::Invalid(format!("{name}={text:?} is not a whole number"))
                }),
            }
        };
        Ok(WorkerLayer {
            servers: lookup("KAIROS_SERVERS"),
            queues: lookup("KAIROS_QUEUES"),
            slots: number("KAIROS_SLOTS")?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            envs: lookup("KAIROS_ENVS"),
            token_file: lookup("KAIROS_TOKEN_FILE").map(PathBuf::from),
            worker_id: lookup("KAIROS_WORKER_ID"),
            data_dir: lookup("KAIROS_WORKER_DIR").map(PathBuf::from),
            http_addr: lookup("KAIROS_WORKER_HTTP_ADDR"),
            advertise_http: lookup("KAIROS_WORKER_ADVERTISE_HTTP"),
            kill_grace_secs: number("KAIROS_KILL_GRACE_SECS")?,
            tls_ca: lookup("KAIROS_TLS_CA").map(PathBuf::from),
            attempt_log: lookup("KAIROS_ATTEMPT_LOG").map(PathBuf::from),
        })
    }

    /// The `[worker]` table of a `kairos.toml` file.
    pub fn from_file(path: &Path) -> Result<WorkerLayer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?;
        Ok(file.worker)
    }

    /// `self` where set, `below` elsewhere.
    pub fn over(self, below: WorkerLayer) -> WorkerLayer {
        WorkerLayer {
            servers: self.servers.or(below.servers),
            queues: self.queues.or(below.queues),
            slots: self.slots.or(below.slots),
            envs: self.envs.or(below.envs),
            token_file: self.token_file.or(below.token_file),
            worker_id: self.worker_id.or(below.worker_id),
            data_dir: self.data_dir.or(below.data_dir),
            http_addr: self.http_addr.or(below.http_addr),
            advertise_http: self.advertise_http.or(below.advertise_http),
            kill_grace_secs: self.kill_grace_secs.or(below.kill_grace_secs),
            tls_ca: self.tls_ca.or(below.tls_ca),
            attempt_log: self.attempt_log.or(below.attempt_log),
        }
    }

    pub fn resolve(self) -> Result<WorkerConfig, ConfigError> {
        let servers = list(self.servers.as_deref().unwrap_or("127.0.0.1:7071"));
        if servers.is_empty() {
            return Err(ConfigError::Invalid(
                "no servers: give --servers HOST:PORT,... (any members of the cluster)".into(),
            ));
        }
        if let Some(bad) = servers.iter().find(|s| !s.contains(':')) {
            return Err(ConfigError::Invalid(format!(
                "server {bad:?} should be HOST:PORT, e.g. 127.0.0.1:7071"
            )));
        }
        let queues = list(self.queues.as_deref().unwrap_or("default"));
        if queues.is_empty() {
            return Err(ConfigError::Invalid(
                "no queues: give --queues default,... (the queues this worker serves)".into(),
            ));
        }
        let slots = self.slots.unwrap_or(8);
        if slots == 0 {
            return Err(ConfigError::Invalid(
                "--slots 0 would never run a task; give at least 1".into(),
            ));
        }
        let mut envs = BTreeMap::new();
        for part in list(self.envs.as_deref().unwrap_or("")) {
            let (name, path) = part.split_once('=').ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "environment {part:?} should be NAME=PATH_TO_PYTHON, e.g. python3=/usr/bin/python3"
                ))
            })?;
            envs.insert(name.trim().to_string(), PathBuf::from(path.trim()));
        }
        let token = match &self.token_file {
            Some(path) => Some(read_token(path)?),
            None => None,
        };
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(".kairos-worker"));
        // Absolute: attempts run in their own directories, where a relative path
        // (to the runner, a spec, a result) would point somewhere else.
        let data_dir = std::path::absolute(&data_dir).map_err(|e| {
            ConfigError::Invalid(format!("the data dir {}: {e}", data_dir.display()))
        })?;
        let worker_id = match self.worker_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            Some(_) => return Err(ConfigError::Invalid("--worker-id is empty".into())),
            None => default_worker_id(&data_dir)?,
        };
        Ok(WorkerConfig {
            servers,
            queues,
            slots,
            envs,
            token,
            worker_id,
            data_dir,
            http_addr: self
                .http_addr
                .unwrap_or_else(|| "127.0.0.1:8793".to_string()),
            advertise_http: self.advertise_http,
            kill_grace: Duration::from_secs(self.kill_grace_secs.unwrap_or(10)),
            tls_ca: match &self.tls_ca {
                Some(path) => Some(std::fs::read(path).map_err(|error| ConfigError::Read {
                    path: path.clone(),
                    error,
                })?),
                None => None,
            },
            attempt_log: self.attempt_log,
        })
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The first non-comment line of the token file.
fn read_token(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .find(|token| !token.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{} holds no token: write the worker token on its first line",
                path.display()
            ))
        })
}

/// The host name plus a hash of the (absolute) data directory: stable across
/// restarts, and different for two workers on one machine with their own
/// directories. A host name that cannot be read is an error, not a made-up id:
/// an id that changed at the next start would strand the attempts handed out.
fn default_worker_id(data_dir: &Path) -> Result<String, ConfigError> {
    let host = nix::unistd::gethostname().map_err(|e| {
        ConfigError::Invalid(format!(
            "cannot read this machine's host name for the default worker id: {e}; give --worker-id"
        ))
    })?;
    let dir = data_dir.display().to_string();
    let sum = dir.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Ok(format!("{}-{:08x}", host.to_string_lossy(), sum as u32))
}

impl WorkerConfig {
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }
    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }
    pub fn attempts_dir(&self) -> PathBuf {
        self.data_dir.join("attempts")
    }
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
        let token = dir.path().join("token");
        std::fs::write(&token, "# worker token\nsecret\n").unwrap();
        std::fs::write(
            &file,
            format!(
                "[server]\nnode_id = 1\n[worker]\nslots = 2\nqueues = \"etl\"\ntoken_file = {:?}\n",
                token.display().to_string()
            ),
        )
        .unwrap();
        let flags = WorkerLayer {
            slots: Some(4),
            ..WorkerLayer::default()
        };
        let environment = WorkerLayer::from_env(env(&[
            ("KAIROS_SLOTS", "3"),
            (
                "KAIROS_ENVS",
                "py311=/opt/py311/bin/python, python3=/usr/bin/python3",
            ),
        ]))
        .unwrap();
        let config = flags
            .over(environment)
            .over(WorkerLayer::from_file(&file).unwrap())
            .resolve()
            .unwrap();
        assert_eq!(config.slots, 4);
        assert_eq!(config.queues, ["etl"]);
        assert_eq!(config.token.as_deref(), Some("secret"));
        assert_eq!(
            config.envs.get("py311"),
            Some(&PathBuf::from("/opt/py311/bin/python"))
        );
        assert_eq!(config.servers, ["127.0.0.1:7071"]);
        assert!(
            config.data_dir.is_absolute(),
            "{}",
            config.data_dir.display()
        );
    }

    #[test]
    fn bad_settings_say_what_to_give() {
        let bad = |layer: WorkerLayer| layer.resolve().unwrap_err().to_string();
        let err = bad(WorkerLayer {
            slots: Some(0),
            ..WorkerLayer::default()
        });
        assert!(err.contains("at least 1"), "{err}");
        let err = bad(WorkerLayer {
            envs: Some("python3".into()),
            ..WorkerLayer::default()
        });
        assert!(err.contains("NAME=PATH_TO_PYTHON"), "{err}");
        let err = bad(WorkerLayer {
            servers: Some("localhost".into()),
            ..WorkerLayer::default()
        });
        assert!(err.contains("HOST:PORT"), "{err}");
        let err = WorkerLayer::from_env(env(&[("KAIROS_SLOTS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("KAIROS_SLOTS"), "{err}");
    }
}
