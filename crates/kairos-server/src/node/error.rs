//! What can go wrong asking this node for something, in words a caller acts on:
//! try again (nothing was done), the outcome is unknown (a write may have been
//! committed), the request is wrong, or this node's store failed. The gRPC
//! services and the REST API each turn it into their own status.

use kairos_raft::ProposeError;
use kairos_state::StoreError;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Nothing was done; another try (here or at another node) may succeed: no
    /// leader yet, the leader moved, a node could not be reached, a read could
    /// not catch up.
    #[error("{0}")]
    Unavailable(String),
    /// A write whose outcome is unknown: it may or may not have been committed,
    /// so it must not be sent again blindly.
    #[error("{0}")]
    Unknown(String),
    /// The request is wrong as given.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The cluster is not in a state that allows it (e.g. a membership change
    /// that would break Raft).
    #[error("{0}")]
    FailedPrecondition(String),
    /// This node's store failed: not the caller's fault, and not to be read as
    /// "absent".
    #[error("this node's store failed: {0}")]
    Store(#[from] StoreError),
    /// A bug or a broken invariant on this node.
    #[error("{0}")]
    Internal(String),
}

impl NodeError {
    /// Whether nothing was done and the same request may simply be tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, NodeError::Unavailable(_))
    }
}

/// There is no leader yet, or this node does not know its address.
pub(crate) fn no_leader(leader: Option<u64>) -> NodeError {
    NodeError::Unavailable(match leader {
        Some(id) => format!(
            "this node is not the leader and does not know node {id}'s address yet; try another node"
        ),
        None => "there is no leader yet (an election is under way); try again".into(),
    })
}

/// The leader moved while a request was on its way: nothing was done.
pub(crate) fn leader_moved() -> NodeError {
    NodeError::Unavailable(
        "the leader changed while the request was on its way; nothing was done, try again".into(),
    )
}

impl From<ProposeError> for NodeError {
    fn from(error: ProposeError) -> NodeError {
        match error {
            ProposeError::NotLeader { leader_id, .. } => no_leader(leader_id),
            // The caller must not blindly retry: the entry may have been committed.
            ProposeError::Unknown(e) => NodeError::Unknown(e),
            ProposeError::Stopped(e) => {
                NodeError::Unavailable(format!("this node is stopping: {e}"))
            }
            ProposeError::Refused(e) => NodeError::FailedPrecondition(e),
            too_large @ ProposeError::TooLarge { .. } => NodeError::Invalid(too_large.to_string()),
        }
    }
}

impl From<NodeError> for Status {
    fn from(error: NodeError) -> Status {
        let code = match &error {
            NodeError::Unavailable(_) => Code::Unavailable,
            NodeError::Unknown(_) => Code::Aborted,
            NodeError::Invalid(_) => Code::InvalidArgument,
            NodeError::NotFound(_) => Code::NotFound,
            NodeError::AlreadyExists(_) => Code::AlreadyExists,
            NodeError::FailedPrecondition(_) => Code::FailedPrecondition,
            NodeError::Store(_) | NodeError::Internal(_) => Code::Internal,
        };
        Status::new(code, error.to_string())
    }
}

/// Another node's answer to a forwarded request, as this node passes it on.
impl From<Status> for NodeError {
    fn from(status: Status) -> NodeError {
        let message = status.message().to_string();
        match status.code() {
            Code::Unavailable => NodeError::Unavailable(message),
            Code::Aborted | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded => {
                NodeError::Unknown(message)
            }
            Code::InvalidArgument | Code::OutOfRange => NodeError::Invalid(message),
            Code::NotFound => NodeError::NotFound(message),
            Code::AlreadyExists => NodeError::AlreadyExists(message),
            Code::FailedPrecondition => NodeError::FailedPrecondition(message),
            _ => NodeError::Internal(message),
        }
    }
}
