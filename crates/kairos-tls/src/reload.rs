//! [`Tls`]: a holder's TLS material as the process uses it, reloaded without a
//! restart. Every new connection (accepted or made) takes the configuration
//! current at that moment; connections already open keep theirs. A reload that
//! fails (a file half written, a key that does not match) changes nothing: the
//! last good material stays in use and the reason is logged.
//!
//! [`Tls::watch`] reloads on SIGHUP and when one of the three files changes
//! (their size, modification time or inode, polled).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::{ClientConfig, ServerConfig};

use crate::error::TlsError;
use crate::identity::{Identity, Role};
use crate::material::{Alpn, Material, TlsFiles};

/// How often [`Tls::watch`] looks at the files by default.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Certificates closer than this to their end are warned about at each load.
const WARN_BEFORE_EXPIRY: Duration = Duration::from_secs(14 * 24 * 3600);

/// A holder's TLS material, shared and reloadable; cloning is cheap.
#[derive(Clone)]
pub struct Tls {
    shared: Arc<Shared>,
}

struct Shared {
    files: TlsFiles,
    current: RwLock<Arc<Material>>,
    /// The files' stamps when last looked at by the watcher.
    seen: Mutex<Vec<Option<Stamp>>>,
}

/// What tells a file changed without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("identity", &self.identity().uri())
            .field("files", &self.shared.files)
            .finish()
    }
}

impl Tls {
    /// Loads and checks the material; an error names the file and the fix.
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let seen = stamps(&files);
        let material = Material::load(&files)?;
        warn_if_expiring(&files, &material);
        Ok(Tls {
            shared: Arc::new(Shared {
                files,
                current: RwLock::new(Arc::new(material)),
                seen: Mutex::new(seen),
            }),
        })
    }

    pub fn files(&self) -> &TlsFiles {
        &self.shared.files
    }

    fn current(&self) -> Arc<Material> {
        match self.shared.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Who this process is, as its current certificate says.
    pub fn identity(&self) -> Identity {
        self.current().identity.clone()
    }

    /// When the current certificate stops being valid (seconds since the epoch).
    pub fn not_after(&self) -> i64 {
        self.current().not_after
    }

    /// The configuration a listener accepts new connections with: a client
    /// certificate from the CA is required.
    pub fn server_config(&self, alpn: Alpn) -> Arc<ServerConfig> {
        self.current().server_config(alpn)
    }

    /// The configuration a new outgoing connection uses: this holder's
    /// certificate is presented, and the peer must present one of a `peer` in
    /// this holder's cluster. `peer` is [`Role::Server`] or [`Role::Worker`]
    /// (clients serve nothing; asking for one gives the server configuration).
    pub fn client_config(&self, peer: Role, alpn: Alpn) -> Arc<ClientConfig> {
        let current = self.current();
        current
            .client_config(peer, alpn)
            .or_else(|| current.client_config(Role::Server, alpn))
            .expect("server client configurations are always built")
    }

    /// Reads the files again; on success new connections use the new material.
    /// On failure nothing changes and the error says why.
    pub fn reload(&self) -> Result<Identity, TlsError> {
        let material = Material::load(&self.shared.files)?;
        warn_if_expiring(&self.shared.files, &material);
        let identity = material.identity.clone();
        match self.shared.current.write() {
            Ok(mut current) => *current = Arc::new(material),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(material),
        }
        Ok(identity)
    }

    /// Reloads and logs the outcome (`why` says what asked for it).
    fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(identity) => tracing::info!(
                %identity,
                valid_until = %date(self.not_after()),
                "reloaded the TLS certificates ({why}); new connections use them"
            ),
            Err(e) => tracing::error!(
                "could not reload the TLS certificates ({why}): {e}; \
                 still using the ones loaded before"
            ),
        }
    }

    /// Whether a file changed since the last look (and remembers the new look).
    fn files_changed(&self) -> bool {
        let now = stamps(&self.shared.files);
        let mut seen = match self.shared.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *seen == now {
            return false;
        }
        *seen = now;
        true
    }

    /// Reloads on SIGHUP and whenever a file changes (looked at every `every`),
    /// until the process ends. Call inside a Tokio runtime.
    pub fn watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hangup = match signal(SignalKind::hangup()) {
                Ok(hangup) => Some(hangup),
                Err(e) => {
                    tracing::warn!(
                        "no SIGHUP handler ({e}); certificates reload when their files change"
                    );
                    None
                }
            };
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let hup = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = hup => {
                        tls.files_changed();
                        tls.reload_logged("SIGHUP");
                    }
                    _ = tick.tick() => {
                        if tls.files_changed() {
                            tls.reload_logged("the files changed");
                        }
                    }
                }
            }
        })
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<Stamp>> {
    use std::os::unix::fs::MetadataExt;
    [&files.cert, &files.key, &files.ca]
        .iter()
        .map(|path| {
            std::fs::metadata(path).ok().map(|m| Stamp {
                len: m.len(),
                modified: m.modified().ok(),
                inode: m.ino(),
            })
        })
        .collect()
}

fn warn_if_expiring(files: &TlsFiles, material: &Material) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if material.not_after - now < WARN_BEFORE_EXPIRY.as_secs() as i64 {
        tracing::warn!(
            cert = %files.cert.display(),
            "the certificate expires on {}: issue a new one with `kairos certs` \
             and it is reloaded without a restart",
            date(material.not_after)
        );
    }
}

/// A moment as an RFC 3339 date.
pub(crate) fn date(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |d| d.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}
