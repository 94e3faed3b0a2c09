//! A try's log: the query that asks for it, and the headers that say where the
//! text came from and where to read on. The log itself is plain text.

use serde::{Deserialize, Serialize};

/// `?map_index=&offset=` (and Airflow's `token` and `full_content`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    pub map_index: Option<i32>,
    /// Start at this byte of the log (to follow a growing one).
    #[serde(default)]
    pub offset: u64,
    /// Airflow's continuation token: the `continuation_token` of an earlier
    /// JSON answer (it overrides `offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Accepted: every answer reads from `offset` (or `token`) on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_content: Option<bool>,
}

/// A log as Airflow's API answers it when asked for JSON: the text, and the
/// token that reads on from where it ended.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogContent {
    pub content: String,
    /// The byte offset after this text, to pass back as `token`.
    pub continuation_token: String,
}

/// Where the text came from: [`LOG_FROM_SERVERS`], [`LOG_FROM_WORKER`] or
/// [`LOG_FROM_REPLICATED_TAIL`].
pub const LOG_SOURCE_HEADER: &str = "x-kairos-log-source";
/// The offset to ask from next, when the worker said.
pub const LOG_NEXT_HEADER: &str = "x-kairos-log-next";
/// The log's size so far, when the worker said.
pub const LOG_SIZE_HEADER: &str = "x-kairos-log-size";
/// A finished try's whole log, as the servers keep it (its worker uploaded it),
/// from the offset asked: the worker need not be there.
pub const LOG_FROM_SERVERS: &str = "servers";
/// The worker that ran the try answered, from the offset asked.
pub const LOG_FROM_WORKER: &str = "worker";
/// The worker is gone: the last 4 KiB replicated with the try's report.
pub const LOG_FROM_REPLICATED_TAIL: &str = "replicated-tail";
