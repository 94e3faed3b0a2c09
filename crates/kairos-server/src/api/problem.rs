//! Errors as RFC 9457 problem details (`application/problem+json`): a status, a
//! short title and a detail that says what went wrong and how to fix it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::node::NodeError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and title say it all.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, detail)
    }

    /// A command the state machine refused.
    pub fn from_rejection(rejection: &kairos_state::Rejection) -> Problem {
        use kairos_state::RejectionKind as K;
        let status = match rejection.kind {
            K::NotFound => StatusCode::NOT_FOUND,
            K::AlreadyExists => StatusCode::CONFLICT,
            K::IllegalTransition | K::StaleAttempt => StatusCode::CONFLICT,
            K::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            K::Invalid => StatusCode::BAD_REQUEST,
        };
        Problem::new(status, rejection.message.clone())
    }

    /// This node's answer to a failed read or write.
    pub fn from_node(error: NodeError) -> Problem {
        let status = match &error {
            NodeError::NotFound(_) => StatusCode::NOT_FOUND,
            NodeError::AlreadyExists(_) | NodeError::FailedPrecondition(_) => StatusCode::CONFLICT,
            NodeError::Invalid(message) => {
                if message.contains("no run")
                    || message.contains("no such")
                    || message.contains("has no task")
                    || message.contains("no DAG")
                {
                    StatusCode::NOT_FOUND
                } else if message.contains("already exists") {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::BAD_REQUEST
                }
            }
            NodeError::Unavailable(_) | NodeError::Unknown(_) => StatusCode::SERVICE_UNAVAILABLE,
            NodeError::Store(_) | NodeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Problem::new(status, error.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
