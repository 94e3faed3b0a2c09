//! Finished results on the worker's disk until the cluster acknowledges them.
//!
//! A result is held in memory the moment its attempt ends and written (and
//! fsynced) here at the same time as it is first reported: the report does not
//! wait for the disk, and a result the cluster acknowledged before it reached
//! the disk is never written. From the moment it is on disk neither a lost
//! connection, a leader change nor a restart of the worker loses it: the
//! reporter re-sends every spooled result until the cluster answers, then
//! deletes it. The cluster records a repeat of the same report once
//! (`AlreadyRecorded`), so re-sending is always safe.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use kairos_dag::identity::TaskInstanceKey;
use kairos_proto::v1::{ReportFinishedRequest, XComValue};
use serde::{Deserialize, Serialize};

/// How an attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub ti: TaskInstanceKey,
    pub attempt: String,
    /// success, failed, skipped, up_for_retry or up_for_reschedule.
    pub state: String,
    pub reason: Option<String>,
    pub xcoms: Vec<(String, serde_json::Value)>,
    pub log_tail: String,
    /// A branch's chosen task ids; `Some(vec![])` for a short-circuit that skips.
    pub follow: Option<Vec<String>>,
    pub reschedule_at_ms: Option<i64>,
    /// A failure not to retry.
    #[serde(default)]
    pub no_retry: bool,
    /// The task's `outlet_events`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outlet_events: Vec<kairos_dag::asset::OutletEvent>,
    /// The try this attempt ran (its log's name); 0 in results spooled by an
    /// older worker, whose logs are then not sent to the servers.
    #[serde(default)]
    pub try_number: u32,
}

impl Finished {
    pub fn to_request(&self, worker_id: &str) -> ReportFinishedRequest {
        ReportFinishedRequest {
            worker_id: worker_id.to_string(),
            ti: Some((&self.ti).into()),
            attempt: self.attempt.clone(),
            state: self.state.clone(),
            reason: self.reason.clone().unwrap_or_default(),
            xcoms: self
                .xcoms
                .iter()
                .map(|(key, value)| XComValue {
                    key: key.clone(),
                    value_json: value.to_string(),
                })
                .collect(),
            log_tail: self.log_tail.clone(),
            has_follow: self.follow.is_some(),
            follow: self.follow.clone().unwrap_or_default(),
            reschedule_at_ms: self.reschedule_at_ms.unwrap_or(0),
            no_retry: self.no_retry,
            outlet_events: self
                .outlet_events
                .iter()
                .map(|e| kairos_proto::v1::OutletEvent {
                    uri: e.uri.clone(),
                    alias: e.alias.clone().unwrap_or_default(),
                    extra_json: if e.extra.is_null() {
                        String::new()
                    } else {
                        e.extra.to_string()
                    },
                })
                .collect(),
            // Set by the reporter when it keeps a slot free for a hand-off.
            take: 0,
        }
    }
}

pub struct Spool {
    dir: PathBuf,
    /// The attempts whose results wait to be delivered. Every poll sends them
    /// (the cluster must not hand them out again) and the reporter walks them:
    /// reading the directory for that each time cost half a busy worker's CPU,
    /// and grew with the directory (ext4 keeps a directory's size after its
    /// files go). Read from disk once, at open; kept in step by `hold`,
    /// `persist` and `remove`.
    held: Mutex<BTreeMap<String, Held>>,
}

/// One result waiting to be delivered.
struct Held {
    /// The result itself until it is on disk (then read from there: a worker
    /// cut off from the cluster does not fill its memory with results).
    memory: Option<Finished>,
    on_disk: bool,
}

impl Spool {
    pub fn open(dir: &Path) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let mut held = BTreeMap::new();
        // An entry that cannot be read fails the open: it may be a result
        // that would otherwise wait unreported until the next start.
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            if let Some(finished) = read(&path) {
                held.insert(
                    finished.attempt,
                    Held {
                        memory: None,
                        on_disk: true,
                    },
                );
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            held: Mutex::new(held),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path_of(&self, attempt: &str) -> PathBuf {
        let safe: String = attempt
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// Takes a result to deliver, in memory only: the reporter may send it at
    /// once; [`Spool::persist`] puts it on disk.
    pub fn hold(&self, finished: Finished) {
        self.held().insert(
            finished.attempt.clone(),
            Held {
                memory: Some(finished),
                on_disk: false,
            },
        );
    }

    /// Writes a held result durably (a temporary file, fsynced, renamed into
    /// place) unless it is on disk already or was delivered meanwhile (then
    /// nothing is written, or what was written is deleted again).
    pub fn persist(&self, attempt: &str) -> std::io::Result<()> {
        let finished = match self.held().get(attempt) {
            Some(Held {
                memory: Some(finished),
                on_disk: false,
            }) => finished.clone(),
            _ => return Ok(()),
        };
        let path = self.path_of(attempt);
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(&finished).map_err(std::io::Error::other)?;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        let mut held = self.held();
        match held.get_mut(attempt) {
            Some(entry) => {
                entry.on_disk = true;
                entry.memory = None;
            }
            // Acknowledged while it was being written: the file goes again (a
            // crash before this leaves it to be sent once more, recorded once).
            None => remove_file(&path)?,
        }
        Ok(())
    }

    /// Holds and persists `finished` (the two steps at once).
    pub fn put(&self, finished: &Finished) -> std::io::Result<()> {
        self.hold(finished.clone());
        self.persist(&finished.attempt)
    }

    /// Forgets a delivered result, deleting its file when it has one.
    pub fn remove(&self, attempt: &str) -> std::io::Result<()> {
        let mut held = self.held();
        if held.get(attempt).is_some_and(|h| h.on_disk) {
            remove_file(&self.path_of(attempt))?;
        }
        held.remove(attempt);
        Ok(())
    }

    /// The attempts whose results wait to be delivered (no disk read).
    /// Whether the result of `attempt` is held here.
    pub fn holds(&self, attempt: &str) -> bool {
        self.held().contains_key(attempt)
    }

    pub fn attempts(&self) -> Vec<String> {
        self.held().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.held().len()
    }

    pub fn is_empty(&self) -> bool {
        self.held().is_empty()
    }

    /// The result of `attempt`: from memory while it is held there, else read
    /// from disk (`None`, logged, when it cannot be read).
    pub fn get(&self, attempt: &str) -> Option<Finished> {
        match self.held().get(attempt) {
            Some(Held {
                memory: Some(finished),
                ..
            }) => return Some(finished.clone()),
            Some(_) => {}
            None => return None,
        }
        read(&self.path_of(attempt))
    }

    /// Every result waiting to be delivered. A file that cannot be read is
    /// logged and left in place (never deleted: it may be the only record of a
    /// finished attempt).
    pub fn all(&self) -> Vec<Finished> {
        self.attempts()
            .iter()
            .filter_map(|attempt| self.get(attempt))
            .collect()
    }
}

/// Deletes a file; one already gone is no error.
fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A spooled result, or None (logged) when it cannot be read.
fn read(path: &Path) -> Option<Finished> {
    match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Finished>(&b).map_err(|e| e.to_string()))
    {
        Ok(finished) => Some(finished),
        Err(e) => {
            tracing::error!(path = %path.display(), "unreadable spooled result: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(attempt: &str) -> Finished {
        Finished {
            ti: TaskInstanceKey {
                dag_id: "d".into(),
                run_id: "manual__2026".into(),
                task_id: "t".into(),
                map_index: -1,
            },
            attempt: attempt.into(),
            state: "success".into(),
            reason: None,
            xcoms: vec![("return_value".into(), serde_json::json!([1, 2]))],
            log_tail: "done\n".into(),
            try_number: 1,
            follow: None,
            reschedule_at_ms: None,
            no_retry: false,
            outlet_events: Vec::new(),
        }
    }

    #[test]
    fn results_survive_reopening_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.put(&finished("1-7.0")).unwrap();
        spool.put(&finished("2-9.1")).unwrap();
        let reopened = Spool::open(dir.path()).unwrap();
        let mut attempts: Vec<String> = reopened.all().into_iter().map(|f| f.attempt).collect();
        attempts.sort();
        assert_eq!(attempts, ["1-7.0", "2-9.1"]);
        assert_eq!(reopened.all()[0].xcoms, finished("x").xcoms);
        reopened.remove("1-7.0").unwrap();
        reopened.remove("1-7.0").unwrap();
        assert_eq!(reopened.all().len(), 1);
        assert_eq!(reopened.attempts(), ["2-9.1"]);
        // The index in memory follows puts and removes without reading the disk.
        reopened.put(&finished("3-1.0")).unwrap();
        assert_eq!(reopened.attempts(), ["2-9.1", "3-1.0"]);
        reopened.remove("2-9.1").unwrap();
        reopened.remove("3-1.0").unwrap();
        assert!(reopened.is_empty());
        assert!(reopened.all().is_empty());
        assert!(Spool::open(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_held_result_is_delivered_from_memory_and_written_only_when_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.hold(finished("1-1.0"));
        assert_eq!(spool.attempts(), ["1-1.0"]);
        assert_eq!(spool.get("1-1.0"), Some(finished("1-1.0")));
        assert!(
            Spool::open(dir.path()).unwrap().is_empty(),
            "not on disk yet"
        );
        spool.persist("1-1.0").unwrap();
        let reopened = Spool::open(dir.path()).unwrap();
        assert_eq!(reopened.all(), [finished("1-1.0")]);
        // Read from disk now, not memory: the same result.
        assert_eq!(spool.get("1-1.0"), Some(finished("1-1.0")));
        spool.remove("1-1.0").unwrap();
        assert!(Spool::open(dir.path()).unwrap().is_empty());

        // Acknowledged before its write: nothing is written.
        spool.hold(finished("2-2.0"));
        spool.remove("2-2.0").unwrap();
        spool.persist("2-2.0").unwrap();
        assert!(spool.is_empty());
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(files.is_empty(), "{files:?}");
    }

    #[test]
    fn an_unreadable_file_is_left_in_place_and_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.json"), "{not json").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.put(&finished("1-1.0")).unwrap();
        assert_eq!(spool.attempts(), ["1-1.0"]);
        assert!(dir.path().join("broken.json").exists());
    }
}
