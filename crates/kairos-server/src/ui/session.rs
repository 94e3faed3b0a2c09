//! The UI's session: the login posts a token, checked as the API checks one,
//! and kept in an HttpOnly, SameSite=Strict cookie (script cannot read it;
//! another site's page cannot send it); the logout clears it; `GET` says who
//! the caller is, so a page shows only the actions its role has.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Ui;
use crate::api::auth::{SESSION_COOKIE, session_value};
use crate::api::problem::Problem;
use crate::api::scope::{Scope, UI_HEADER};

/// How long a session lasts (the cookie's Max-Age), in seconds.
const SESSION_SECONDS: u64 = 12 * 3600;

#[derive(Deserialize)]
pub(super) struct Login {
    token: String,
}

fn cookie(ui: &Ui, value: &str, max_age: u64) -> HeaderValue {
    let secure = if ui.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(super) async fn login(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Json(login): Json<Login>,
) -> Response {
    if !headers.contains_key(UI_HEADER) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            format!("a login comes from the UI's page (the `{UI_HEADER}` header)"),
        )
        .into_response();
    }
    let mut presented = HeaderMap::new();
    let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {}", login.token.trim())) else {
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "the token is not one the servers know",
        )
        .into_response();
    };
    presented.insert(header::AUTHORIZATION, bearer);
    match ui.api.tokens.scope_of(&presented) {
        Ok(scope) => {
            let mut response = Json(describe(&scope, ui.api.tokens.is_open())).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&ui, &session_value(login.token.trim()), SESSION_SECONDS),
            );
            response
        }
        Err(problem) => problem.into_response(),
    }
}

pub(super) async fn logout(State(ui): State<Arc<Ui>>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&ui, "", 0));
    response
}

pub(super) async fn whoami(State(ui): State<Arc<Ui>>, scope: Scope) -> Response {
    Json(describe(&scope, ui.api.tokens.is_open())).into_response()
}

fn describe(scope: &Scope, open: bool) -> serde_json::Value {
    json!({
        "role": scope.role.name(),
        "team": scope.team,
        "open": open,
    })
}
