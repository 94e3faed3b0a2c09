//! A try's log: the query that asks for it, and the headers that say where the
//! text came from and where to read on. The log itself is plain text.

use serde::{Deserialize, Serialize};

/// `?map_index=&offset=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    pub map_index: Option<i32>,
    /// Start at this byte of the log (to follow a growing one).
    #[serde(default)]
    pub offset: u64,
}

/// Where the text came from: [`LOG_FROM_WORKER`] or [`LOG_FROM_REPLICATED_TAIL`].
pub const LOG_SOURCE_HEADER: &str = "x-kairos-log-source";
/// The offset to ask from next, when the worker said.
pub const LOG_NEXT_HEADER: &str = "x-kairos-log-next";
/// The log's size so far, when the worker said.
pub const LOG_SIZE_HEADER: &str = "x-kairos-log-size";
/// The worker that ran the try answered, from the offset asked.
pub const LOG_FROM_WORKER: &str = "worker";
/// The worker is gone: the last 4 KiB replicated with the try's report.
pub const LOG_FROM_REPLICATED_TAIL: &str = "replicated-tail";
