//! The worker's configuration. Each setting is declared once, in [`WorkerLayer`]:
//! its flag and `KAIROS_*` variable (read by clap; flags win) and its key in the
//! `[worker]` table of `kairos.toml` (read by serde). The layers are merged field
//! by field ([`kairos_config_layers::Layer::over`]), then
//! [`WorkerLayer::resolve`] fills in defaults and checks the result into a
//! [`WorkerConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kairos_config_layers::{Table, read_layer, whole_number};

pub use kairos_config_layers::ConfigError;
use serde::{Deserialize, Deserializer};

kairos_config_layers::layer! {
    /// One layer of the worker's settings, every field optional: the flags and
    /// `KAIROS_*` variables of `kairos worker`, or the `[worker]` table of
    /// `kairos.toml`. The help text of each field is its `--help` line.
    #[derive(Debug, Clone, Default, clap::Args, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct WorkerLayer {
        /// gRPC addresses of any cluster members, comma separated (default
        /// 127.0.0.1:7071).
        #[arg(long, env = "KAIROS_SERVERS")]
        pub servers: Option<String>,
        /// Queues to take tasks from, comma separated (default `default`).
        #[arg(long, env = "KAIROS_QUEUES")]
        pub queues: Option<String>,
        /// Attempts run at once (default 8).
        #[arg(long, env = "KAIROS_SLOTS", value_parser = whole_number::<u32>())]
        pub slots: Option<u32>,
        /// An execution environment, `NAME=PATH`: a virtualenv's folder or a
        /// Python interpreter; repeat for more (in the variable and in kairos.toml:
        /// comma separated). A task naming an environment runs only on a worker
        /// that has it; others run in `python3`. `--env` is the old name.
        #[arg(long = "environment", visible_alias = "env", env = "KAIROS_ENVS", value_delimiter = ',')]
        #[serde(default, alias = "environments", deserialize_with = "comma_separated")]
        pub envs: Option<Vec<String>>,
        /// The teams whose tasks this worker serves, comma separated (default:
        /// every team's). A DAG's team is its bundle's.
        #[arg(long, env = "KAIROS_TEAMS")]
        pub teams: Option<String>,
        /// A file whose first line is the worker token the servers know.
        #[arg(long, env = "KAIROS_TOKEN_FILE")]
        pub token_file: Option<PathBuf>,
        /// Stable across restarts, so the cluster finds the attempts it handed out
        /// (default: host name and a hash of --data-dir).
        #[arg(long, env = "KAIROS_WORKER_ID")]
        pub worker_id: Option<String>,
        /// Logs, spooled results, cached files and attempt directories (default
        /// ./.kairos-worker).
        #[arg(long, env = "KAIROS_WORKER_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Where attempt logs are served over HTTP (default 127.0.0.1:8793; port 0
        /// picks one).
        #[arg(long, env = "KAIROS_WORKER_HTTP_ADDR")]
        pub http_addr: Option<String>,
        /// The HOST:PORT the cluster should use for the log server, when not
        /// --http-addr.
        #[arg(long, env = "KAIROS_WORKER_ADVERTISE_HTTP")]
        pub advertise_http: Option<String>,
        /// Seconds between SIGTERM and SIGKILL when an attempt is stopped (default 10).
        #[arg(long, env = "KAIROS_KILL_GRACE_SECS", value_parser = whole_number::<u64>())]
        pub kill_grace_secs: Option<u64>,
        /// This worker's certificate (PEM, from `kairos certs worker`): presented
        /// to the servers and on the log server. It names the worker id.
        #[arg(long, env = "KAIROS_TLS_CERT")]
        pub tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert.
        #[arg(long, env = "KAIROS_TLS_KEY")]
        pub tls_key: Option<PathBuf>,
        /// The cluster's CA certificate(s) (PEM): servers must present a server
        /// certificate it signed, log readers one it signed.
        #[arg(long, env = "KAIROS_TLS_CA")]
        pub tls_ca: Option<PathBuf>,
        /// Speak plain text to the servers and serve logs over plain HTTP, with no
        /// certificates. For a trusted loopback only (`kairos dev`, tests).
        #[arg(long, env = "KAIROS_INSECURE", num_args = 0..=1, default_missing_value = "true")]
        pub insecure: Option<bool>,
        /// Append each attempt's start and end to this file as JSON lines: the
        /// worker's own record, independent of the cluster's.
        #[arg(long, env = "KAIROS_ATTEMPT_LOG")]
        pub attempt_log: Option<PathBuf>,
        /// Run every task as this user (name or uid), not as the worker's: the
        /// worker must run as root. See docs/security-worker.md.
        #[arg(long, env = "KAIROS_RUN_AS")]
        pub run_as: Option<String>,
    }
}

/// `envs` in `kairos.toml`: one string, `NAME=PATH,NAME=PATH`, as in the variable.
fn comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(Some(text.split(',').map(str::to_string).collect()))
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub servers: Vec<String>,
    pub queues: Vec<String>,
    pub slots: u32,
    /// Environment name → Python interpreter (a venv's `bin/python` when a
    /// folder was given).
    pub envs: BTreeMap<String, PathBuf>,
    /// The teams this worker serves; empty: every team.
    pub teams: Vec<String>,
    pub token: Option<String>,
    pub worker_id: String,
    pub data_dir: PathBuf,
    pub http_addr: String,
    pub advertise_http: Option<String>,
    pub kill_grace: Duration,
    /// The certificate files (`None`: `--insecure`), loaded at start.
    pub tls: Option<kairos_tls::TlsFiles>,
    /// See [`crate::attempt_log`].
    pub attempt_log: Option<PathBuf>,
    /// `--run-as`: the user tasks run as.
    pub run_as: Option<crate::run_as::RunAs>,
}

impl WorkerLayer {
    /// The `[worker]` table of the `kairos.toml` at `path`; a file that is not
    /// there is an empty layer.
    pub fn from_file(path: &Path) -> Result<WorkerLayer, ConfigError> {
        read_layer(path, Table::Worker)
    }

    /// Checks the merged layer and fills in defaults.
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
        let parts = self.envs.iter().flatten().flat_map(|p| p.split(','));
        for part in parts.map(str::trim).filter(|p| !p.is_empty()) {
            let (name, path) = part.split_once('=').ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "environment {part:?} should be NAME=PATH (a virtualenv's folder or a Python interpreter), e.g. etl=/opt/venvs/etl or python3=/usr/bin/python3"
                ))
            })?;
            let name = name.trim();
            if !kairos_dag::load::is_valid_id(name) {
                return Err(ConfigError::Invalid(format!(
                    "environment name {name:?} in {part:?}: use letters, digits, `_`, `-` and `.` (DAGs name environments the same way)"
                )));
            }
            envs.insert(name.to_string(), interpreter_of(Path::new(path.trim())));
        }
        let teams = list(self.teams.as_deref().unwrap_or(""));
        if let Some(bad) = teams.iter().find(|t| !kairos_dag::load::is_valid_id(t)) {
            return Err(ConfigError::Invalid(format!(
                "team {bad:?} in --teams: use letters, digits, `_`, `-` and `.`"
            )));
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
        let example = match self.worker_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => format!("worker --id {id} --host <its host or IP>"),
            _ => "worker --id <worker id> --host <its host or IP>".to_string(),
        };
        let tls = kairos_tls::TlsFlags {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            ca: self.tls_ca.clone(),
            insecure: self.insecure.unwrap_or(false),
        }
        .choose(kairos_tls::Role::Worker, &example)
        .map_err(ConfigError::Invalid)?;
        let worker_id = match self.worker_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            Some(_) => return Err(ConfigError::Invalid("--worker-id is empty".into())),
            // With a certificate, the id is the one it names.
            None => match &tls {
                Some(files) => {
                    kairos_tls::Tls::load(files.clone())
                        .map_err(|e| ConfigError::Invalid(e.to_string()))?
                        .identity()
                        .name
                }
                None => default_worker_id(&data_dir)?,
            },
        };
        Ok(WorkerConfig {
            servers,
            queues,
            slots,
            envs,
            teams,
            token,
            worker_id,
            data_dir,
            http_addr: self
                .http_addr
                .unwrap_or_else(|| "127.0.0.1:8793".to_string()),
            advertise_http: self.advertise_http,
            kill_grace: Duration::from_secs(self.kill_grace_secs.unwrap_or(10)),
            tls,
            attempt_log: self.attempt_log,
            run_as: match self.run_as.as_deref().map(str::trim) {
                Some(user) if !user.is_empty() => {
                    Some(crate::run_as::RunAs::resolve(user).map_err(ConfigError::Invalid)?)
                }
                _ => None,
            },
        })
    }
}

/// The interpreter of an environment given as `path`: a virtualenv's folder
/// (anything that is a directory) means its `bin/python`; anything else is the
/// interpreter itself. Whether it runs is checked at start (`crate::environments`).
fn interpreter_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("bin").join("python")
    } else {
        path.to_path_buf()
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
    pub fn bundles_dir(&self) -> PathBuf {
        self.data_dir.join("bundles")
    }
    /// Where bundles' `requirements` are installed, layered on environments.
    pub fn layered_envs_dir(&self) -> PathBuf {
        self.data_dir.join("layered-envs")
    }
    pub fn attempts_dir(&self) -> PathBuf {
        self.data_dir.join("attempts")
    }
    /// Where each attempt's inputs are staged (the bash command, the runner,
    /// the callable): beside the attempts, out of their tasks' reach.
    pub fn stage_dir(&self) -> PathBuf {
        self.data_dir.join("stage")
    }
}

#[cfg(test)]
mod tests;
