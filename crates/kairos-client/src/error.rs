//! What a call came to when it did not give the answer asked for.

/// A failed call. Its text is what the CLI prints after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No address was given.
    #[error("no server address given")]
    NoServers,
    /// The HTTP client could not be built.
    #[error("{0}")]
    Setup(String),
    /// No node could be reached (each node's reason, `; ` apart).
    #[error("no server answered: {0}")]
    Unreachable(String),
    /// A node took a write and gave no answer: it may have been applied, so it
    /// was not sent to another node.
    #[error("{node} did not answer: {reason}")]
    NoAnswer { node: String, reason: String },
    /// A node answered with an error status; `detail` is the problem's detail
    /// (or the body, when it is not a problem document).
    #[error("{detail} ({status})")]
    Api { status: u16, detail: String },
    /// The answer could not be read, or is not the documented JSON.
    #[error("the API answered something else than JSON: {0}")]
    Decode(String),
    /// The answer's body could not be read.
    #[error("{0}")]
    Body(String),
}

impl Error {
    /// The HTTP status a node answered with, when one did.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the request may have reached the cluster without an answer coming
    /// back (so whether it was applied is unknown).
    pub fn unanswered(&self) -> bool {
        matches!(self, Error::Unreachable(_) | Error::NoAnswer { .. })
    }
}
