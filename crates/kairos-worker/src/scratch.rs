//! Working directories for attempts, reused from one attempt to the next.
//!
//! Each attempt runs in a directory of its own (its cwd, its XCom file, the
//! Python runner's files), beside a file recording its process group so that a
//! restarted worker can stop what a killed one left running. Creating and
//! deleting both for every attempt made inode allocation the largest cost of a
//! busy worker: ext4 without a journal passes over recently deleted inodes when
//! it allocates one, so the search grows with the churn (the throughput bench
//! slowed down round after round). The pool hands out directories that are
//! emptied when released, and group files that are truncated rather than
//! deleted. Airflow gives each BashOperator a fresh temporary directory; an
//! emptied one is the same to the task.
//!
//! Beside each directory is a staging directory of the worker's (under
//! `stage/`): what the worker hands the task's process (its bash command, the
//! Python runner and callable, the call spec) is written there fresh for each
//! process, owned by the worker so the task cannot swap its entries for links.
//! With `--run-as`, the working directory belongs to the task's user (0700).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::run_as::RunAs;

pub struct Scratch {
    root: PathBuf,
    stage_root: PathBuf,
    run_as: Option<RunAs>,
    /// Directories released empty, ready for the next attempt.
    free: Mutex<Vec<usize>>,
    next: AtomicUsize,
}

/// An attempt's directory and group file, returned to the pool when dropped.
pub struct ScratchDir<'a> {
    pool: &'a Scratch,
    index: usize,
    pub dir: PathBuf,
    pub pgid_file: PathBuf,
    /// The worker's staging directory for this attempt's inputs.
    pub stage: PathBuf,
}

impl Scratch {
    /// A pool under `root`, which must hold nothing of a running attempt (the
    /// worker empties it at start, after stopping the groups recorded there).
    /// `stage_root` likewise. `run_as`: the user whose directories they are.
    pub fn new(root: &Path, stage_root: &Path, run_as: Option<RunAs>) -> Scratch {
        Scratch {
            root: root.to_path_buf(),
            stage_root: stage_root.to_path_buf(),
            run_as,
            free: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        }
    }

    /// An empty directory for an attempt.
    pub fn take(&self) -> std::io::Result<ScratchDir<'_>> {
        let reused = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let index = reused.unwrap_or_else(|| self.next.fetch_add(1, Ordering::Relaxed));
        let taken = ScratchDir {
            pool: self,
            index,
            dir: self.root.join(format!("w{index}")),
            pgid_file: self.root.join(format!("w{index}.pgid")),
            stage: self.stage_root.join(format!("w{index}")),
        };
        // Also for a reused one: a process its last task left behind may have
        // removed it since (creating an existing directory allocates nothing).
        std::fs::create_dir_all(&taken.dir)?;
        std::fs::create_dir_all(&taken.stage)?;
        if let Some(user) = &self.run_as {
            user.own_dir(&taken.dir)?;
        }
        Ok(taken)
    }
}

impl Drop for ScratchDir<'_> {
    fn drop(&mut self) {
        // An empty group file records nothing: a stale process group id would
        // have a restarted worker kill an unrelated group that reused it.
        let truncated = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&self.pgid_file);
        if let Err(e) = truncated {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %self.pgid_file.display(), "cannot clear a process group file: {e}");
            }
        }
        if let Err(e) = empty(&self.stage) {
            tracing::warn!(dir = %self.stage.display(), "cannot empty an attempt's staging directory: {e}");
        }
        // A directory that cannot be emptied (or was removed by its task) is not
        // handed out again; the next attempt gets a new one.
        match empty(&self.dir) {
            Ok(()) => self
                .pool
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.index),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "cannot empty an attempt's directory, not reusing it: {e}");
            }
        }
    }
}

/// Removes everything inside `dir`, keeping `dir`.
fn empty(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_directory_comes_back_empty_and_its_group_file_blank() {
        let root = tempfile::tempdir().unwrap();
        let pool = Scratch::new(&root.path().join("a"), &root.path().join("s"), None);
        let first = pool.take().unwrap();
        let second = pool.take().unwrap();
        assert_ne!(first.dir, second.dir);
        std::fs::write(first.dir.join("out.txt"), "x").unwrap();
        std::fs::create_dir_all(first.dir.join("sub/deeper")).unwrap();
        std::fs::write(first.dir.join("sub/deeper/f"), "y").unwrap();
        std::fs::write(&first.pgid_file, "4242").unwrap();
        let (dir, pgid_file) = (first.dir.clone(), first.pgid_file.clone());
        drop(first);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert_eq!(std::fs::read_to_string(&pgid_file).unwrap(), "");
        let again = pool.take().unwrap();
        assert_eq!(again.dir, dir, "the emptied directory is reused");
        drop(second);
        drop(again);
        assert_eq!(pool.free.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_directory_its_task_removed_is_not_handed_out_again() {
        let root = tempfile::tempdir().unwrap();
        let pool = Scratch::new(&root.path().join("a"), &root.path().join("s"), None);
        let taken = pool.take().unwrap();
        let gone = taken.dir.clone();
        std::fs::remove_dir_all(&gone).unwrap();
        drop(taken);
        let next = pool.take().unwrap();
        assert_ne!(next.dir, gone);
        assert!(next.dir.is_dir());
    }
}
