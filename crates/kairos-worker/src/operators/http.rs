//! HttpOperator: one HTTP request. The base URL comes from the connection
//! `http_conn_id`, read as Airflow reads it from the environment
//! (`AIRFLOW_CONN_<ID>` as a URI, e.g. `https://user:pass@api.example.com:8443/v1`);
//! an `endpoint` that is a full URL needs no connection. `data` is sent as the query
//! string for GET and HEAD, else as the body (JSON for objects and lists). A 4xx or
//! 5xx status fails the task unless `check_response` is off. The response body is
//! the `return_value` XCom.

use kairos_dag::limits::MAX_HTTP_RESPONSE_BYTES;
use std::time::Duration;

use kairos_dag::operator::HttpOperator;
use serde_json::{Value as Json, json};

use super::{Ctx, Report};

/// Airflow's lookup: `AIRFLOW_CONN_` + the id in upper case. Unset or blank is no
/// connection; a value that is not text is an error that says so.
fn connection(conn_id: &str) -> Result<Option<String>, String> {
    let name = format!("AIRFLOW_CONN_{}", conn_id.to_ascii_uppercase());
    match std::env::var(&name) {
        Ok(value) => Ok(Some(value).filter(|v| !v.trim().is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{name} on the worker is not valid UTF-8; write the connection as a URL"
        )),
    }
}

/// The URL to call: a full-URL endpoint, or the connection's URL joined with it.
pub fn target(
    conn_uri: Option<&str>,
    conn_id: &str,
    endpoint: Option<&str>,
) -> Result<reqwest::Url, String> {
    let endpoint = endpoint.unwrap_or("");
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        return reqwest::Url::parse(endpoint).map_err(|e| format!("endpoint {endpoint:?}: {e}"));
    }
    let base = conn_uri.ok_or_else(|| {
        format!(
            "no connection `{conn_id}`: set AIRFLOW_CONN_{} to a URL on the worker, or give a full URL as endpoint",
            conn_id.to_ascii_uppercase()
        )
    })?;
    // Airflow's http connections may be written `http://host` or as `http://` URIs
    // of other schemes' shape; only http(s) is accepted here.
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| format!("connection `{conn_id}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "connection `{conn_id}` has scheme `{}`; use http:// or https://",
            url.scheme()
        ));
    }
    if !endpoint.is_empty() {
        let path = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            endpoint.trim_start_matches('/')
        );
        url.set_path(&path);
    }
    Ok(url)
}

pub async fn run(ctx: &Ctx<'_>, op: &HttpOperator) -> Report {
    let raw = json!({
        "endpoint": op.endpoint,
        "data": op.data,
        "headers": op.headers,
    });
    let rendered = match ctx
        .render(move |t| {
            Ok(json!({
                "endpoint": t.json("endpoint", &raw["endpoint"])?,
                "data": t.json("data", &raw["data"])?,
                "headers": t.json("headers", &raw["headers"])?,
            }))
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Report::failed(e),
    };
    let endpoint = rendered["endpoint"].as_str();
    let url = match connection(&op.http_conn_id) {
        Ok(conn) => target(conn.as_deref(), &op.http_conn_id, endpoint),
        // A full-URL endpoint needs no connection; anything else says both.
        Err(unreadable) => {
            target(None, &op.http_conn_id, endpoint).map_err(|e| format!("{e} ({unreadable})"))
        }
    };
    let url = match url {
        Ok(url) => url,
        Err(e) => return Report::failed(e),
    };
    let client = match reqwest::Client::builder()
        .danger_accept_invalid_certs(!op.verify_tls)
        .timeout(
            op.timeout
                .map(|t| Duration::from_millis(t.as_millis()))
                .unwrap_or(Duration::from_secs(300)),
        )
        .build()
    {
        Ok(c) => c,
        Err(e) => return Report::failed(format!("cannot build the HTTP client: {e}")),
    };
    let method = match reqwest::Method::from_bytes(op.method.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Report::failed(format!("`{}` is not an HTTP method", op.method)),
    };
    let mut request = client.request(method.clone(), url.clone());
    if !url.username().is_empty() {
        request = request.basic_auth(url.username(), url.password());
    }
    if let Some(headers) = rendered["headers"].as_object() {
        for (k, v) in headers {
            request = request.header(
                k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }
    request = match &rendered["data"] {
        Json::Null => request,
        Json::Object(map) if method == reqwest::Method::GET || method == reqwest::Method::HEAD => {
            let pairs: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            request.query(&pairs)
        }
        Json::String(text) => request.body(text.clone()),
        other => request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(other.to_string()),
    };
    let mut shown = url.clone();
    // Fails only for a URL that cannot carry a password: nothing to hide then.
    let _ = shown.set_password(None);
    ctx.note(&format!("{} {}", op.method, shown));
    let mut cancel = ctx.cancel.clone();
    let response = tokio::select! {
        r = request.send() => r,
        _ = cancel.wait_for(|c| *c) => return super::unclean(&crate::process::Ended::Cancelled, None),
    };
    let response = match response {
        Ok(r) => r,
        Err(e) => return Report::failed(format!("{} {shown} failed: {e}", op.method)),
    };
    let status = response.status();
    let body = match read_capped(response, MAX_HTTP_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(e) => return Report::failed(format!("reading the response of {shown}: {e}")),
    };
    ctx.note(&format!("status {status}"));
    if op.log_response {
        super::logs::note(&ctx.log, &format!("response: {body:.4000}"));
    }
    if op.check_response && (status.is_client_error() || status.is_server_error()) {
        return Report::failed(format!(
            "{} {shown} answered {status}: {body:.300}",
            op.method
        ));
    }
    let mut report = Report::success();
    if ctx.attempt.task.do_xcom_push {
        report
            .xcoms
            .push(("return_value".into(), Json::String(body)));
    }
    report
}

/// The response's body as text, refused past `max` bytes (read in chunks, so a
/// huge answer never fills the worker's memory).
async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<String, String> {
    let too_large = |n: u64| {
        format!(
            "the response is {n} bytes or more; an HttpOperator reads at most {max} bytes, \
             since the response is its XCom (see docs/limits.md). Ask for less, or have the \
             service store the data and answer with a reference"
        )
    };
    if let Some(n) = response.content_length().filter(|n| *n > max as u64) {
        return Err(too_large(n));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(too_large((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_response_larger_than_the_limit_is_refused_while_reading() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for chunked in [false, true] {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = "x".repeat(3000);
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string()
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                };
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body.as_bytes());
            }
        });
        for _ in 0..2 {
            let response = reqwest::get(format!("http://{addr}/")).await.expect("get");
            let err = read_capped(response, 1000).await.unwrap_err();
            assert!(err.contains("at most 1000 bytes"), "{err}");
        }
    }

    #[test]
    fn urls_come_from_the_connection_or_a_full_endpoint() {
        let url = target(
            Some("https://u:p@api.example.com:8443/v1/"),
            "api",
            Some("/items"),
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://u:p@api.example.com:8443/v1/items");
        let url = target(None, "api", Some("http://localhost:9/ping")).unwrap();
        assert_eq!(url.as_str(), "http://localhost:9/ping");
        let err = target(None, "my_api", Some("items")).unwrap_err();
        assert!(err.contains("AIRFLOW_CONN_MY_API"), "{err}");
        let err = target(Some("postgres://db/x"), "db", None).unwrap_err();
        assert!(err.contains("http://"), "{err}");
    }
}
