//! HttpOperator (and its old name SimpleHttpOperator).
//!
//! The base URL comes from the connection `http_conn_id`, resolved on the worker (as
//! Airflow resolves `AIRFLOW_CONN_<ID>`); `endpoint` may also be a full URL. The
//! response is checked by status, as Airflow's default `check_response` does: a 4xx
//! or 5xx fails the task. Python response checks cannot ship and are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Args;
use crate::duration::Duration;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpOperator {
    pub http_conn_id: String,
    pub endpoint: Option<String>,
    pub method: String,
    pub data: Option<Value>,
    pub headers: BTreeMap<String, String>,
    /// Fail the task on a 4xx/5xx status (Airflow's `extra_options.check_response`).
    pub check_response: bool,
    pub timeout: Option<Duration>,
    pub verify_tls: bool,
    pub log_response: bool,
}

impl HttpOperator {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<HttpOperator> {
        let http_conn_id = a
            .string("http_conn_id")
            .unwrap_or_else(|| "http_default".into());
        let endpoint = a.string("endpoint");
        let method = a
            .string("method")
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            a.error(
                "method",
                format!("`{method}` is not an HTTP method"),
                Some(format!("use one of {}", METHODS.join(", "))),
            );
        }
        let data = a.json("data");
        let headers = a.string_map("headers").unwrap_or_default();
        let extra = a.json_map("extra_options").unwrap_or_default();
        let mut check_response = true;
        let mut timeout = None;
        let mut verify_tls = true;
        for (k, v) in &extra {
            match (k.as_str(), v) {
                ("check_response", Value::Bool(b)) => check_response = *b,
                ("verify", Value::Bool(b)) => verify_tls = *b,
                ("timeout", v) => match super::args::duration_from_json(v) {
                    Ok(d) => timeout = Some(d),
                    Err(e) => a.error(
                        "extra_options",
                        format!("`extra_options.timeout`: {e}"),
                        None,
                    ),
                },
                (other, _) => a.error(
                    "extra_options",
                    format!("`extra_options.{other}` is not supported"),
                    Some("supported: check_response, timeout, verify".into()),
                ),
            }
        }
        let log_response = a.bool("log_response", false);
        for callable in ["response_check", "response_filter"] {
            if a.has(callable) {
                a.error(
                    callable,
                    format!("`{callable}` is a Python callable, which Kairos cannot ship"),
                    Some("the response is checked by status (`extra_options: {check_response: true}`)".into()),
                );
            }
        }
        let _ = (a.get("response_check"), a.get("response_filter"));
        Some(HttpOperator {
            http_conn_id,
            endpoint,
            method,
            data,
            headers,
            check_response,
            timeout,
            verify_tls,
            log_response,
        })
    }
}
