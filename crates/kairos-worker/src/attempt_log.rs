//! An append-only record of the attempts this worker starts and ends, kept by the
//! worker itself (`--attempt-log FILE`), apart from anything the cluster records.
//!
//! It is the worker's own testimony: the chaos suite reads these files to check
//! that no task instance ever ran two attempts at the same time, whatever the
//! servers believed. One JSON object per line, written with a single `write` on a
//! file opened for appending, so a killed worker leaves whole lines behind (the
//! last one may be missing, never torn in the middle of another).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEvent {
    /// `start` when the operator is about to run, `end` when its result is known.
    pub event: String,
    pub worker: String,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub try_number: u32,
    /// The attempt token's tag (`kairos_dag::identity::token_tag`), never the token.
    pub attempt: String,
    /// Milliseconds since the epoch, by this machine's clock.
    pub at_ms: i64,
    /// The same instant in microseconds: the benchmark measures gaps of a few
    /// milliseconds between one task's end and the next one's start from these.
    /// Zero in lines written before it existed.
    #[serde(default)]
    pub at_us: i64,
    /// The attempt's state (`end` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The `return_value` XCom it produced (`end` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_value: Option<serde_json::Value>,
}

pub struct AttemptLog {
    file: Mutex<File>,
}

impl AttemptLog {
    pub fn open(path: &Path) -> std::io::Result<AttemptLog> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AttemptLog {
            file: Mutex::new(file),
        })
    }

    /// Appends one event. A failure is logged, never fatal: the log is testimony,
    /// not a condition for running tasks.
    pub fn record(&self, event: &AttemptEvent) {
        let mut line = match serde_json::to_vec(event) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(attempt = %event.attempt, event = %event.event, "cannot write an attempt log line: {e}");
                return;
            }
        };
        line.push(b'\n');
        // A poisoned lock still holds a whole file: each line is one write.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::warn!(attempt = %event.attempt, event = %event.event, "cannot append to the attempt log: {e}");
        }
    }

    /// Every event of a log file; unreadable lines (a torn last line) are skipped.
    pub fn read(path: &Path) -> std::io::Result<Vec<AttemptEvent>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_appended_and_read_back_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("attempts.jsonl");
        let event = |what: &str| AttemptEvent {
            event: what.into(),
            worker: "w1".into(),
            dag_id: "d".into(),
            run_id: "r".into(),
            task_id: "t".into(),
            map_index: -1,
            try_number: 1,
            attempt: "5-1.0".into(),
            at_ms: 1,
            at_us: 1_000,
            state: (what == "end").then(|| "success".into()),
            return_value: None,
        };
        let log = AttemptLog::open(&path).expect("open");
        log.record(&event("start"));
        log.record(&event("end"));
        drop(log);
        // Reopened (a restarted worker): appends after what is there.
        let mut raw = OpenOptions::new().append(true).open(&path).expect("raw");
        raw.write_all(b"{\"event\": \"sta").expect("torn");
        drop(raw);
        let events = AttemptLog::read(&path).expect("read");
        assert_eq!(events, vec![event("start"), event("end")]);
    }
}
