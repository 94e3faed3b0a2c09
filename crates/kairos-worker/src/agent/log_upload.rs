//! Sends a finished try's log to the servers (`UploadLog`) once its result is
//! recorded, so that the log outlives this worker: in chunks of 1 MiB, each
//! sent again while no leader takes it (a failover), at most the first 64 MiB
//! (what the servers keep; the rest stays on this worker's disk). A log that
//! cannot be sent stays here, as before, and the API reads it from here.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use kairos_dag::identity::TaskInstanceKey;
use kairos_proto::v1::UploadLogRequest;

use super::shared::Agent;
use crate::logs;

const CHUNK_BYTES: usize = 1 << 20;
const MAX_SENT_BYTES: u64 = 64 << 20;

pub(super) async fn upload(
    agent: Arc<Agent>,
    ti: TaskInstanceKey,
    try_number: u32,
    attempt: String,
) {
    let path = logs::log_path(&agent.config.log_dir(), &ti, try_number);
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut data = Vec::new();
            std::fs::File::open(&path)?
                .take(MAX_SENT_BYTES)
                .read_to_end(&mut data)?;
            Ok(data)
        })
        .await
    };
    let data = match read {
        Ok(Ok(data)) => data,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Ok(Err(e)) => {
            tracing::warn!(ti = %ti, log = %path.display(), "cannot read the log to send it to the servers (it stays here): {e}");
            return;
        }
        Err(e) => {
            tracing::warn!(ti = %ti, "cannot read the log to send it to the servers: {e}");
            return;
        }
    };
    // An empty log is one empty last chunk: the servers then know it is whole.
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(CHUNK_BYTES).collect()
    };
    let count = chunks.len();
    let mut offset = 0u64;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let request = UploadLogRequest {
            worker_id: agent.config.worker_id.clone(),
            ti: Some((&ti).into()),
            attempt: attempt.clone(),
            try_number,
            offset,
            data: chunk.to_vec(),
            last: i + 1 == count,
        };
        let sent = agent
            .conn
            .call(Duration::from_secs(120), |mut c| {
                let request = request.clone();
                async move { c.upload_log(request).await }
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(ti = %ti, try_number, "the servers did not take the log (it stays on this worker): {e}");
            return;
        }
        offset += chunk.len() as u64;
    }
    tracing::debug!(ti = %ti, try_number, bytes = offset, "log kept by the servers");
}
