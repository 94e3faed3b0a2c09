//! Attempt logs on the worker's disk, `<dir>/<dag>/<run>/<task>/<try>.log` (mapped
//! instances under `<task>/map_<i>/`), served over HTTP while and after the attempt
//! runs, so the API can show a running attempt's log live. The last 4 KiB travel
//! with the final report and are replicated, so a failure's cause survives the
//! worker.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use kairos_dag::identity::TaskInstanceKey;

/// The most of a log that travels with the report.
pub const TAIL_BYTES: u64 = 4096;

/// Where the log of `ti`'s try `try_number` lives under `dir`.
pub fn log_path(dir: &Path, ti: &TaskInstanceKey, try_number: u32) -> PathBuf {
    ti.log_path(dir, try_number)
}

/// The last `TAIL_BYTES` of a log, starting on a character boundary.
pub fn tail(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // Skip a partial UTF-8 character at the cut.
    let skip = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0xC0) == 0x80)
        .count();
    Ok(String::from_utf8_lossy(&bytes[skip..]).into_owned())
}

/// Appends a line from the worker itself (not the task) to the log. A line that
/// cannot be written is logged here: the attempt goes on without it.
pub fn note(path: &Path, line: &str) {
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| {
            writeln!(
                file,
                "[{}] kairos: {line}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
            )
        });
    if let Err(e) = written {
        tracing::warn!(log = %path.display(), "cannot write to an attempt's log: {e} (the line was: {line})");
    }
}

#[derive(Deserialize)]
struct LogQuery {
    #[serde(default = "unmapped")]
    map_index: i32,
    /// Start at this byte (for following a growing log).
    #[serde(default)]
    offset: u64,
}

fn unmapped() -> i32 {
    -1
}

/// `GET /logs/{dag_id}/{run_id}/{task_id}/{try_number}?map_index=&offset=`: the log
/// from `offset` on (at most 8 MiB per call), with `x-kairos-log-next` giving the
/// offset to ask from next and `x-kairos-log-size` the file's size when read.
pub fn router(dir: PathBuf) -> axum::Router {
    axum::Router::new()
        .route(
            "/logs/{dag_id}/{run_id}/{task_id}/{try_number}",
            get(serve_log),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(dir)
}

async fn serve_log(
    State(dir): State<PathBuf>,
    UrlPath((dag_id, run_id, task_id, try_number)): UrlPath<(String, String, String, u32)>,
    Query(q): Query<LogQuery>,
) -> Response {
    let ti = TaskInstanceKey {
        dag_id,
        run_id,
        task_id,
        map_index: q.map_index,
    };
    let path = log_path(&dir, &ti, try_number);
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, u64, Vec<u8>)> {
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        let start = q.offset.min(len);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.take(8 * 1024 * 1024).read_to_end(&mut bytes)?;
        Ok((len, start + bytes.len() as u64, bytes))
    })
    .await;
    match read {
        Ok(Ok((len, next, bytes))) => (
            [
                (
                    header::HeaderName::from_static("x-kairos-log-next"),
                    next.to_string(),
                ),
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::HeaderName::from_static("x-kairos-log-size"),
                    len.to_string(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => (
            StatusCode::NOT_FOUND,
            format!("no log for try {try_number} of {ti} on this worker"),
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_escape_the_log_directory() {
        let ti = TaskInstanceKey {
            dag_id: "..".into(),
            run_id: "manual__2026-01-01T00:00:00+00:00/../../etc".into(),
            task_id: "t".into(),
            map_index: 2,
        };
        let path = log_path(Path::new("/logs"), &ti, 1);
        assert_eq!(
            path,
            Path::new("/logs/%../manual__2026-01-01T00:00:00+00:00%2F..%2F..%2Fetc/t/map_2/1.log")
        );
    }

    #[test]
    fn the_tail_is_the_last_4_kib_on_a_character_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.log");
        let mut text = "é".repeat(3000);
        text.push_str("\nthe end\n");
        std::fs::write(&path, &text).unwrap();
        let tail = tail(&path).unwrap();
        assert!(tail.len() <= TAIL_BYTES as usize);
        assert!(tail.ends_with("the end\n"));
        assert!(!tail.contains('\u{FFFD}'), "cut inside a character");
    }

    #[test]
    fn a_log_that_cannot_be_read_has_no_tail_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let err = tail(&dir.path().join("missing.log")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
