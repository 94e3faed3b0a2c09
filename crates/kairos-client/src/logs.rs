//! Task logs: from the worker that ran the try while it is there, else the tail
//! replicated with the try's report.

use kairos_api::LogQuery;
use kairos_api::logs::{LOG_FROM_REPLICATED_TAIL, LOG_NEXT_HEADER, LOG_SOURCE_HEADER};

use crate::error::Error;
use crate::path;
use crate::query::query;
use crate::transport::{Client, with_query};

/// A piece of a try's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub text: String,
    /// Where to read on from (`x-kairos-log-next`), when the server said.
    pub next_offset: Option<u64>,
    /// The worker is gone and this is the last 4 KiB replicated with the try's
    /// report: there is nothing more to follow.
    pub replicated_tail: bool,
}

impl Client {
    /// Try `try_number`'s log of a task instance from byte `offset` on.
    pub async fn log(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        try_number: u32,
        map_index: i32,
        offset: u64,
    ) -> Result<LogChunk, Error> {
        let log = format!(
            "{}/logs/{try_number}",
            path::task_instance(dag_id, run_id, task_id)
        );
        let params = query(&LogQuery {
            map_index: Some(map_index),
            offset,
            ..LogQuery::default()
        })?;
        let (headers, text) = self
            .call(reqwest::Method::GET, &with_query(&log, &[&params]), None)
            .await?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Ok(LogChunk {
            next_offset: header(LOG_NEXT_HEADER).and_then(|v| v.parse().ok()),
            replicated_tail: header(LOG_SOURCE_HEADER) == Some(LOG_FROM_REPLICATED_TAIL),
            text,
        })
    }
}
