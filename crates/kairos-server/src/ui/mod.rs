//! The web UI at `/` of every node: one page shell and its script and style,
//! embedded in the binary (no build step, no CDN), drawing what the REST API
//! answers with the caller's own scope; a login that keeps the token in an
//! HttpOnly cookie; and one server-sent-events stream per page that says when
//! this node applied more of the log (pages redraw then, instead of polling).
//! Nothing here reads the state itself: every datum goes through `/api/v1`.

mod assets;
mod events;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::api::Api;
use crate::node::Node;

/// What the UI's routes read.
#[derive(Clone)]
pub struct Ui {
    pub api: Api,
    pub node: Node,
    /// Served over TLS: the session cookie is `Secure`.
    pub tls: bool,
}

/// `/`, `/ui/...`: the shell for every page, its assets, the session and the
/// event stream. `/ui/session` (GET) and `/ui/events` need a valid caller, as
/// the API does.
pub fn router(ui: Ui) -> Router {
    let tokens = ui.api.tokens.clone();
    let guarded = Router::new()
        .route("/ui/events", get(events::stream))
        .route("/ui/session", get(session::whoami))
        .route_layer(axum::middleware::from_fn_with_state(
            tokens,
            crate::api::scope::resolve,
        ))
        .with_state(Arc::new(ui.clone()));
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(shell))
        .route("/ui/", get(shell))
        .route("/ui/assets/{name}", get(assets::serve))
        .route(
            "/ui/session",
            axum::routing::post(session::login).delete(session::logout),
        )
        .route("/ui/{*page}", get(shell))
        .with_state(Arc::new(ui))
        .merge(guarded)
}

/// Every page's HTML: the same shell, which draws the page the path names.
async fn shell() -> Response {
    let mut response = assets::page().into_response();
    secure_headers(&mut response);
    response
}

/// The headers every UI answer carries: no script but the UI's own files (a
/// DAG's text can never run as script), no framing.
pub(crate) fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}
