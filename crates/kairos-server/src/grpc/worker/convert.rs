//! The worker protocol's fields checked and turned into the state machine's
//! types: log URLs, times, task instance ids, and command results as replies.

use kairos_proto::v1::{ReportReply, TaskInstanceId};
use kairos_state::{CommandResult, Outcome, TaskInstanceKey};
use tonic::Status;

/// A worker's log URL: `http(s)://HOST:PORT` and nothing more (no path, no query,
/// no credentials), since the API fetches from it; empty when it serves none.
pub(super) fn checked_log_url(text: &str) -> Result<String, Status> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let bad = || {
        Status::invalid_argument(format!(
            "log_url {text:?} must be http://HOST:PORT or https://HOST:PORT"
        ))
    };
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(bad)?;
    let ok = rest.contains(':')
        && !rest.contains(['/', '?', '#', '@', ' '])
        && rest
            .rsplit(':')
            .next()
            .is_some_and(|p| p.parse::<u16>().is_ok());
    if ok { Ok(text.to_string()) } else { Err(bad()) }
}

/// An RFC 3339 time, or `None` for an empty field.
pub(super) fn parse_time(
    field: &str,
    text: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Status> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|e| {
            Status::invalid_argument(format!(
                "{field} {text:?} is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z): {e}"
            ))
        })
}

/// The task instance a request names.
pub(super) fn key_of(id: Option<TaskInstanceId>) -> Result<TaskInstanceKey, Status> {
    id.map(TaskInstanceKey::from)
        .ok_or_else(|| Status::invalid_argument("the task instance id is missing"))
}

/// A command's result as a worker reads it.
pub(super) fn reply(result: &CommandResult) -> ReportReply {
    match result {
        Ok(Outcome::TaskState { state, .. }) | Ok(Outcome::AlreadyRecorded { state }) => {
            ReportReply {
                accepted: true,
                outcome: state.as_str().to_string(),
                message: String::new(),
                tasks: Vec::new(),
            }
        }
        Ok(other) => ReportReply {
            accepted: true,
            outcome: format!("{other:?}"),
            message: String::new(),
            tasks: Vec::new(),
        },
        Err(rejection) => ReportReply {
            accepted: false,
            outcome: rejection.kind.as_str().to_string(),
            message: rejection.message.clone(),
            tasks: Vec::new(),
        },
    }
}
