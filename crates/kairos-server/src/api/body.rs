//! A JSON request body whose rejections are problem details too (axum's own
//! `Json` answers bad bodies in plain text).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::Problem;

pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(match &rejection {
                JsonRejection::MissingJsonContentType(_) => Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the body as JSON with `Content-Type: application/json`",
                ),
                JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
                    Problem::bad_request(format!(
                        "the body is not what this endpoint takes: {}",
                        rejection.body_text()
                    ))
                }
                _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the body is larger than this endpoint takes (1 MiB; 16 MiB for a DAG file with the files it references)",
                ),
                _ => Problem::new(rejection.status(), rejection.body_text()),
            }),
        }
    }
}
