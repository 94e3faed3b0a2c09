//! Errors as RFC 9457 problem details (`application/problem+json`): a status, a
//! short title and a detail that says what went wrong and how to fix it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::client::ClientError;

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

    /// The cluster's answer to a failed read or write.
    pub fn from_client(error: ClientError) -> Problem {
        match &error {
            ClientError::Refused { code, message } => {
                use tonic::Code;
                let status = if *code == Code::NotFound {
                    StatusCode::NOT_FOUND
                } else if matches!(code, Code::AlreadyExists | Code::FailedPrecondition) {
                    StatusCode::CONFLICT
                } else if message.contains("no run")
                    || message.contains("no such")
                    || message.contains("has no task")
                    || message.contains("no DAG")
                {
                    StatusCode::NOT_FOUND
                } else if message.contains("already exists") {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::BAD_REQUEST
                };
                Problem::new(status, message.clone())
            }
            ClientError::Unavailable { .. } | ClientError::Unknown(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            _ => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        }
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
