//! A JSON request body whose rejections are problem details too (axum's own
//! `Json` answers bad bodies in plain text), read here rather than by axum so
//! that a body that is refused is still read to its end before the refusal goes
//! out.
//!
//! Why: a server that answers while the client is still sending, and then
//! closes the connection with the rest of the body unread, makes the kernel
//! reset the connection; the client then sees a broken pipe or a reset instead
//! of the answer (whether the answer got through depends on timing). hyper only
//! drains what has already arrived. So a body over the limit (413), or of the
//! wrong type (415), is read to its end and dropped (never kept) when that is
//! at most [`DRAIN_MAX`] bytes more and takes at most [`DRAIN_TIME`]; a body
//! declared larger is not read, and its connection is closed as before.

use std::time::Duration;

use axum::body::{Body as AxumBody, BodyDataStream, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Request bodies larger than this are refused (413).
pub const MAX_BODY: usize = 1024 * 1024;
/// ... except a DAG file's upload, which carries the files it references.
pub const MAX_DAG_FILE_BODY: usize = 16 * 1024 * 1024;
/// How much of a refused body is still read past its limit, so that a client
/// still sending it gets the answer.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// How long a refused body is read for, at most.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The largest body a route takes: set on the routes by `router` as an
/// extension layer (an inner layer overrides an outer one). [`MAX_BODY`] when
/// none is set.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(MAX_BODY, |l| l.0);
        let (parts, body) = req.into_parts();
        if !json_content_type(&parts.headers) {
            drain(body.into_data_stream(), declared_length(&parts.headers)).await;
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = read(body, limit, declared_length(&parts.headers)).await?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(
                rejection @ (JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_)),
            ) => Err(Problem::bad_request(format!(
                "the body is not what this endpoint takes: {}",
                rejection.body_text()
            ))),
            Err(rejection) => Err(Problem::new(rejection.status(), rejection.body_text())),
        }
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is larger than this endpoint takes (1 MiB; 16 MiB for a DAG file with the files it references)",
    )
}

/// The whole body when it is at most `limit` bytes; a 413 (after draining the
/// rest) when it is more.
async fn read(body: AxumBody, limit: usize, declared: Option<u64>) -> Result<Bytes, Problem> {
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|len| len > limit as u64) {
        drain(stream, declared).await;
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Problem::bad_request(format!("the body could not be read: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            drain(stream, None).await;
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// Reads and drops what is left of a body that is refused, within [`DRAIN_MAX`]
/// bytes and [`DRAIN_TIME`]. A body declared larger than [`DRAIN_MAX`] is not
/// read at all: it would be cut off anyway.
async fn drain(mut stream: BodyDataStream, declared: Option<u64>) {
    if declared.is_some_and(|len| len > DRAIN_MAX as u64) {
        return;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    let mut drained = 0usize;
    while drained <= DRAIN_MAX {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len(),
            // The end, a broken body, or out of time.
            _ => return,
        }
    }
}

/// `Content-Length`, when the client sent one that parses.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether the body is declared JSON, as axum's `Json` decides it:
/// `application/json` or `application/*+json`, parameters allowed.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(Ok(value)) = headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::put;

    use super::*;

    #[test]
    fn json_is_application_json_or_a_json_suffix() {
        let typed = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().expect("a header"));
            json_content_type(&headers)
        };
        assert!(typed("application/json"));
        assert!(typed("application/json; charset=utf-8"));
        assert!(typed("Application/JSON;charset=utf-8"));
        assert!(typed("application/cloudevents+json"));
        assert!(!typed("text/json"));
        assert!(!typed("application/jsonx"));
        assert!(!json_content_type(&HeaderMap::new()));
    }

    /// A route that takes at most 1 KiB, served on 127.0.0.1.
    async fn serve() -> String {
        let app = Router::new()
            .route(
                "/",
                put(|Body(v): Body<serde_json::Value>| async move { v.to_string() }),
            )
            .layer(axum::Extension(BodyLimit(1024)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    }

    /// Sends `chunks` chunks of `size` bytes without a declared length
    /// (`Transfer-Encoding: chunked`); the answer's status, or why there was none.
    async fn chunked(url: &str, chunks: usize, size: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "PUT / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
        let sent = async {
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..chunks {
                stream.write_all(chunk.as_bytes()).await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
            let mut answer = vec![0u8; 64];
            let n = stream.read(&mut answer).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer[..n]).to_string())
        };
        match sent.await {
            Ok(answer) => answer.split(' ').nth(1).unwrap_or("no status").to_string(),
            Err(e) => format!("{:?}", e.kind()),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_over_the_limit_gets_its_413_however_large() {
        let url = serve().await;
        let client = reqwest::Client::new();
        let small = client
            .put(&url)
            .header("content-type", "application/json")
            .body(r#"{"a":1}"#)
            .send()
            .await
            .expect("an answer");
        assert_eq!(small.status(), 200);
        // Far past the limit, declared or streamed: the client, still sending
        // when the server has decided, must see the 413 and not a broken pipe.
        let big = format!("\"{}\"", "x".repeat(8 * 1024 * 1024));
        for round in 0..5 {
            let declared = client
                .put(&url)
                .header("content-type", "application/json")
                .body(big.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("round {round}: no answer: {e:?}"));
            assert_eq!(declared.status(), 413, "round {round}");
            assert_eq!(chunked(&url, 64, 128 * 1024).await, "413", "round {round}");
            let untyped = client
                .put(&url)
                .header("content-type", "text/plain")
                .body(big.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("round {round}: no answer: {e:?}"));
            assert_eq!(untyped.status(), 415, "round {round}");
        }
    }
}
