//! Path and query extractors whose rejections are problem details, like the
//! body's (axum's own answer in plain text).

use axum::extract::{FromRequestParts, rejection::PathRejection};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Path parameters (`/dags/{dag_id}/...`).
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e: PathRejection| {
                Problem::bad_request(format!("a path parameter is not valid: {}", e.body_text()))
            })
    }
}

/// Query parameters (`?limit=&after=&consistent=`). Parsed as HTML forms are, so a
/// repeated parameter (`?tags=a&tags=b`, as Airflow's API takes it) fills a list.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_html_form::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| Problem::bad_request(format!("a query parameter is not valid: {e}")))
    }
}
