//! The DAG version's files (Python callables, bash scripts) on the worker: fetched
//! from the cluster by content hash and kept, so a file shared by many versions
//! and attempts is fetched once, and no shared volume is needed. A cached file
//! is checked against its hash at every use (a task running as the worker's
//! user could have rewritten it for the next task); one that does not match is
//! fetched again. Files are cached read-only (`0444`) in `0700` folders.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Makes each temporary file name unique within the worker process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

use kairos_dag::version::content_hash;
use kairos_proto::v1::{AttemptRef, FetchFilesRequest};

use crate::conn::Conn;

pub struct FileCache {
    dir: PathBuf,
}

impl FileCache {
    pub fn open(dir: &Path) -> std::io::Result<FileCache> {
        std::fs::create_dir_all(dir)?;
        set_mode(dir, 0o700)?;
        Ok(FileCache {
            dir: dir.to_path_buf(),
        })
    }

    /// `<dir>/<hex of the hash>/<file name>`: the name kept for readable tracebacks.
    fn path_of(&self, key: &str, hash: &str) -> PathBuf {
        let hex: String = hash
            .trim_start_matches("sha256:")
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        let name = Path::new(key)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_string());
        self.dir.join(hex).join(name)
    }

    /// The content of file `key` (content `hash`), from the cache when the
    /// cached copy still has that hash, else fetched for the attempt `by` (and
    /// cached).
    pub async fn get(
        &self,
        conn: &Conn,
        key: &str,
        hash: &str,
        by: &AttemptRef,
    ) -> Result<Vec<u8>, String> {
        let path = self.path_of(key, hash);
        match std::fs::read(&path) {
            Ok(bytes) if content_hash(&bytes) == hash => return Ok(bytes),
            Ok(_) => {
                tracing::warn!(
                    file = %path.display(),
                    "the cached copy of `{key}` does not match its hash {hash} (changed since it was fetched): fetching it again"
                );
                if let Err(e) = std::fs::remove_file(&path) {
                    return Err(format!(
                        "the cached copy of `{key}` at {} was changed and cannot be removed: {e}",
                        path.display()
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read the cached copy of `{key}`, fetching it again: {e}")
            }
        }
        let request = FetchFilesRequest {
            hashes: vec![hash.to_string()],
            by: Some(by.clone()),
        };
        let reply = conn
            .call(Duration::from_secs(30), |mut c| {
                let request = request.clone();
                async move { c.fetch_files(request).await }
            })
            .await
            .map_err(|e| format!("could not fetch `{key}` from the cluster: {e}"))?;
        let text = reply
            .files
            .get(hash)
            .ok_or_else(|| format!("the cluster has no file `{key}` ({hash})"))?;
        if content_hash(text.as_bytes()) != hash {
            return Err(format!(
                "the cluster sent a file `{key}` that does not match its hash {hash}"
            ));
        }
        let parent = path.parent().unwrap_or(&self.dir);
        let failed = |what: &str, e: std::io::Error| {
            format!("cannot {what} `{key}` at {}: {e}", path.display())
        };
        std::fs::create_dir_all(parent).map_err(|e| failed("cache", e))?;
        set_mode(parent, 0o700).map_err(|e| failed("cache", e))?;
        // Written beside under a name of its own, then renamed: a reader never sees
        // half a file, and two attempts fetching the same file do not collide.
        let tmp = parent.join(format!(
            ".{}-{}.tmp",
            std::process::id(),
            NEXT_TMP.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&tmp, text).map_err(|e| failed("write", e))?;
        set_mode(&tmp, 0o444).map_err(|e| failed("write", e))?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            // Best effort: a leftover temporary file has a name no one else uses
            // and is never read; the rename's error is what matters.
            let _ = std::fs::remove_file(&tmp);
            if !path.exists() {
                return Err(failed("store", e));
            }
        }
        Ok(text.clone().into_bytes())
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
