//! A bundle version on the worker: its files laid out as the pushed folder, so
//! that a task's Python finds the bundle's modules and packages on its import
//! path. Each version is laid out once per worker (contents fetched by hash,
//! several at a time), under a name that carries a digest of its file list, so
//! two clusters' "version 3" never share a folder; at every use every file is
//! checked against its hash again (a task running as the worker's user could
//! have changed one), and a folder that does not match is laid out anew.
//!
//! Layout: `<data>/bundles/<bundle>/<version>-<digest>/<path>`. `bundles/` is
//! `0711` (no one else can list it), versions' folders `0755` and files `0444`,
//! so that tasks running as another user (`--run-as`) can read them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use kairos_dag::bundle_content::is_bundle_path;
use kairos_dag::version::content_hash;
use kairos_proto::v1::{AttemptRef, FetchBundleReply, FetchBundleRequest, FetchFilesRequest};

use crate::conn::Conn;

/// How many contents one FetchFiles call asks for.
const FETCH_BATCH: usize = 256;

/// Makes each temporary folder name unique within the worker process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// One laid-out bundle version: where, and what must be there.
#[derive(Clone)]
struct LaidOut {
    root: PathBuf,
    files: BTreeMap<String, String>,
    binary: std::collections::BTreeSet<String>,
    requirements: Option<String>,
    wheels: Option<String>,
}

/// A bundle version on this worker: its folder, and the packages its manifest
/// layers on the environment (`requirements`, `wheels`), paths inside it.
#[derive(Debug, Clone)]
pub struct BundleRoot {
    pub root: PathBuf,
    pub requirements: Option<String>,
    pub wheels: Option<String>,
}

impl BundleRoot {
    /// The lock's text and the wheels (file name, bytes) of the manifest's
    /// `wheels` folder, when the manifest names a lock.
    pub fn layer(&self) -> Result<Option<(String, Vec<(String, Vec<u8>)>)>, String> {
        let Some(lock) = &self.requirements else {
            return Ok(None);
        };
        let at = self.root.join(lock);
        let text = std::fs::read_to_string(&at).map_err(|e| {
            format!(
                "cannot read the bundle's requirements {}: {e}",
                at.display()
            )
        })?;
        let mut wheels = Vec::new();
        if let Some(folder) = &self.wheels {
            let dir = self.root.join(folder.trim_end_matches('/'));
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot read the bundle's wheels {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".whl") {
                    let bytes = std::fs::read(entry.path())
                        .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
                    wheels.push((name, bytes));
                }
            }
            wheels.sort();
        }
        Ok(Some((text, wheels)))
    }
}

pub struct Bundles {
    dir: PathBuf,
    /// (bundle, version) → its folder, once laid out by this process.
    known: Mutex<BTreeMap<(String, u32), LaidOut>>,
    /// One layout at a time: two attempts of a new version wait for one.
    building: tokio::sync::Mutex<()>,
}

impl Bundles {
    pub fn open(dir: &Path) -> std::io::Result<Bundles> {
        std::fs::create_dir_all(dir)?;
        set_mode(dir, 0o711)?;
        Ok(Bundles {
            dir: dir.to_path_buf(),
            known: Mutex::new(BTreeMap::new()),
            building: tokio::sync::Mutex::new(()),
        })
    }

    /// The folder of version `version` of `bundle`, laid out and checked, for the
    /// attempt `by`.
    pub async fn root(
        &self,
        conn: &Conn,
        by: &AttemptRef,
        bundle: &str,
        version: u32,
    ) -> Result<BundleRoot, String> {
        let key = (bundle.to_string(), version);
        let known = self.lock_known().get(&key).cloned();
        if let Some(laid) = known {
            match check(&laid) {
                Ok(()) => return Ok(laid.handle()),
                Err(why) => {
                    tracing::warn!(
                        bundle,
                        version,
                        "the bundle's folder changed since it was laid out ({why}): laying it out again"
                    );
                    let _ = std::fs::remove_dir_all(&laid.root);
                    self.lock_known().remove(&key);
                }
            }
        }
        let _one_at_a_time = self.building.lock().await;
        if let Some(laid) = self.lock_known().get(&key).cloned() {
            return Ok(laid.handle());
        }
        let reply = conn
            .call(Duration::from_secs(30), |mut c| {
                let request = FetchBundleRequest {
                    by: Some(by.clone()),
                };
                async move { c.fetch_bundle(request).await }
            })
            .await
            .map_err(|e| {
                format!("could not read bundle `{bundle}` version {version} from the cluster: {e}")
            })?;
        if reply.bundle != bundle || reply.version != version {
            return Err(format!(
                "the cluster sent bundle `{}` version {} for `{bundle}` version {version}",
                reply.bundle, reply.version
            ));
        }
        let laid = self.lay_out(conn, by, reply).await?;
        self.lock_known().insert(key, laid.clone());
        Ok(laid.handle())
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u32), LaidOut>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn lay_out(
        &self,
        conn: &Conn,
        by: &AttemptRef,
        reply: FetchBundleReply,
    ) -> Result<LaidOut, String> {
        let bundle = reply.bundle.clone();
        let files: BTreeMap<String, String> = reply.files.into_iter().collect();
        if let Some(bad) = files.keys().find(|p| !is_bundle_path(p)) {
            return Err(format!(
                "bundle `{bundle}` holds a path {bad:?} outside its folder"
            ));
        }
        if !kairos_dag::load::is_valid_id(&bundle) {
            return Err(format!("bundle name {bundle:?} is not a valid name"));
        }
        let digest = content_hash(serde_json::to_string(&files).unwrap_or_default().as_bytes());
        let name = format!("{}-{}", reply.version, &digest["sha256:".len()..][..16]);
        let parent = self.dir.join(&bundle);
        std::fs::create_dir_all(&parent)
            .and_then(|()| set_mode(&parent, 0o711))
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let optional = |text: String| (!text.is_empty()).then_some(text);
        let laid = LaidOut {
            root: parent.join(&name),
            files,
            binary: reply.binary.into_iter().collect(),
            requirements: optional(reply.requirements),
            wheels: optional(reply.wheels),
        };
        // Laid out by an earlier life of this worker, and still intact.
        if laid.root.is_dir() && check(&laid).is_ok() {
            return Ok(laid);
        }
        let tmp = parent.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            NEXT_TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let result = self.write_all(conn, by, &laid, &tmp).await;
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if laid.root.exists() {
            let _ = std::fs::remove_dir_all(&laid.root);
        }
        std::fs::rename(&tmp, &laid.root)
            .map_err(|e| format!("cannot move the bundle into {}: {e}", laid.root.display()))?;
        Ok(laid)
    }

    async fn write_all(
        &self,
        conn: &Conn,
        by: &AttemptRef,
        laid: &LaidOut,
        tmp: &Path,
    ) -> Result<(), String> {
        let failed = |what: &str, path: &Path, e: std::io::Error| {
            format!("cannot {what} {}: {e}", path.display())
        };
        std::fs::create_dir_all(tmp).map_err(|e| failed("create", tmp, e))?;
        // Contents by hash, fetched a batch at a time (a file shared by several
        // paths is fetched once).
        let mut wanted: Vec<&String> = laid.files.values().collect();
        wanted.sort();
        wanted.dedup();
        let mut contents: BTreeMap<String, String> = BTreeMap::new();
        for batch in wanted.chunks(FETCH_BATCH) {
            let request = FetchFilesRequest {
                hashes: batch.iter().map(|h| (*h).clone()).collect(),
                by: Some(by.clone()),
            };
            let reply = conn
                .call(Duration::from_secs(60), |mut c| {
                    let request = request.clone();
                    async move { c.fetch_files(request).await }
                })
                .await
                .map_err(|e| format!("could not fetch the bundle's files: {e}"))?;
            contents.extend(reply.files);
        }
        for (path, hash) in &laid.files {
            let text = contents.get(hash).ok_or_else(|| {
                format!("the cluster has no content for bundle file `{path}` ({hash})")
            })?;
            if &content_hash(text.as_bytes()) != hash {
                return Err(format!(
                    "the cluster sent bundle file `{path}` with content that does not match {hash}"
                ));
            }
            let bytes = if laid.binary.contains(path) {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| format!("bundle file `{path}` is not valid base64: {e}"))?
            } else {
                text.clone().into_bytes()
            };
            let at = tmp.join(path);
            if let Some(dir) = at.parent() {
                std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
            }
            std::fs::write(&at, &bytes).map_err(|e| failed("write", &at, e))?;
            set_mode(&at, 0o444).map_err(|e| failed("protect", &at, e))?;
        }
        seal_dirs(tmp).map_err(|e| failed("protect", tmp, e))
    }
}

impl LaidOut {
    fn handle(&self) -> BundleRoot {
        BundleRoot {
            root: self.root.clone(),
            requirements: self.requirements.clone(),
            wheels: self.wheels.clone(),
        }
    }
}

/// Every file is there with its content; nothing was added.
fn check(laid: &LaidOut) -> Result<(), String> {
    for (path, hash) in &laid.files {
        let at = laid.root.join(path);
        let bytes = std::fs::read(&at).map_err(|e| format!("{}: {e}", at.display()))?;
        let stored = if laid.binary.contains(path) {
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        } else {
            String::from_utf8(bytes).map_err(|_| format!("{} is no longer text", at.display()))?
        };
        if &content_hash(stored.as_bytes()) != hash {
            return Err(format!("{} does not match {hash}", at.display()));
        }
    }
    Ok(())
}

/// Folders `0755` from the bottom up, the root last.
fn seal_dirs(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            seal_dirs(&entry.path())?;
        }
    }
    set_mode(dir, 0o755)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
