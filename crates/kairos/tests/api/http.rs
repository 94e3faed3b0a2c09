//! A bearer-token HTTP client for the API that returns status, content type
//! and body (JSON when it parses), so that every step can check all three.

use reqwest::StatusCode;
use serde_json::Value;

pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.expect("a body");
        (
            status,
            content_type,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let (status, _, body) = self
            .call(reqwest::Method::GET, path, Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}
