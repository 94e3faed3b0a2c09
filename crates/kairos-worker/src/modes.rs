//! The permissions of the worker's data directory. Logs, spooled results, the
//! file cache and staged inputs are the worker's alone (`0700`); with
//! `--run-as`, the folders on the way to an attempt's working directory and
//! staged files are `0711`, so its task can reach them by name but list or read
//! nothing else there.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::config::WorkerConfig;

/// Sets the modes above; with `--run-as`, checks first that its user can pass
/// through every folder above the data dir (else each task would fail to start
/// with a bare "permission denied").
pub fn protect(config: &WorkerConfig) -> std::io::Result<()> {
    if let Some(user) = &config.run_as {
        if let Some(blocked) = first_closed_ancestor(&config.data_dir, user.uid.as_raw()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "--run-as {}: that user cannot pass through {} to reach the tasks' working directories under {}; \
                     give others search permission (chmod o+x {}) or choose another --data-dir",
                    user.name,
                    blocked.display(),
                    config.data_dir.display(),
                    blocked.display()
                ),
            ));
        }
    }
    let passage = if config.run_as.is_some() {
        0o711
    } else {
        0o700
    };
    for (dir, mode) in [
        (config.data_dir.clone(), passage),
        (config.attempts_dir(), passage),
        (config.stage_dir(), passage),
        (config.log_dir(), 0o700),
        (config.spool_dir(), 0o700),
        (config.files_dir(), 0o700),
    ] {
        set(&dir, mode)?;
    }
    Ok(())
}

/// The first folder above `dir` (`dir` excluded: the worker sets its mode) that
/// a user `uid` outside its group could not search.
fn first_closed_ancestor(dir: &Path, uid: u32) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors().skip(1).find_map(|folder| {
        let meta = std::fs::metadata(folder).ok()?;
        let open = meta.mode() & 0o001 != 0 || (meta.uid() == uid && meta.mode() & 0o100 != 0);
        (!open).then(|| folder.to_path_buf())
    })
}

fn set(dir: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_others_cannot_search_is_named() {
        let root = tempfile::tempdir().unwrap();
        let closed = root.path().join("closed");
        let data = closed.join("worker");
        std::fs::create_dir_all(&data).unwrap();
        set(root.path(), 0o755).unwrap();
        set(&closed, 0o700).unwrap();
        assert_eq!(first_closed_ancestor(&data, 65534), Some(closed.clone()));
        set(&closed, 0o711).unwrap();
        assert_eq!(first_closed_ancestor(&data, 65534), None);
    }
}
