//! The permissions of the worker's data directory. Logs, spooled results, the
//! file cache and staged inputs are the worker's alone (`0700`); with
//! `--run-as`, the folders on the way to an attempt's working directory and
//! staged files are `0711`, so its task can reach them by name but list or read
//! nothing else there.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::config::WorkerConfig;

pub fn protect(config: &WorkerConfig) -> std::io::Result<()> {
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

fn set(dir: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}
