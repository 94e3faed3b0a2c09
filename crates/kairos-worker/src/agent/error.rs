//! How the worker stops for good: a setup step that failed, or a cluster that
//! refuses its token. Everything else it retries.

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0}")]
    Setup(String),
    #[error(
        "the cluster refused this worker: {0}\n  (check --token-file against the servers' worker_token_file)"
    )]
    Refused(String),
}
