//! The worker's certificate: loaded at start (it must be a worker certificate
//! naming this worker's id), reloaded on SIGHUP or file change, presented to
//! the servers, and served on the log server, which takes server and client
//! certificates of the cluster only (the servers fetch logs for the API; an
//! operator may read them directly; another worker has no business there).

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kairos_tls::{Identity, Role, Tls};

use crate::config::WorkerConfig;

/// This worker's TLS material (`None` with `--insecure`), watched from now on.
pub fn load(config: &WorkerConfig) -> Result<Option<Tls>, String> {
    let Some(files) = &config.tls else {
        tracing::warn!(
            logs = %config.http_addr,
            "--insecure: plain text to the servers and on the log server, no certificates"
        );
        return Ok(None);
    };
    let tls = Tls::load(files.clone()).map_err(|e| e.to_string())?;
    let me = tls.identity();
    if me.role != Role::Worker || me.name != config.worker_id {
        return Err(format!(
            "{} is {me}'s certificate, not worker `{}`'s: make one with `kairos certs worker \
             --id {} --host <its host or IP>`, or start with --worker-id matching it",
            files.cert.display(),
            config.worker_id,
            config.worker_id
        ));
    }
    tls.watch(kairos_tls::WATCH_EVERY);
    Ok(Some(tls))
}

/// Serves the log server on `listener`: HTTPS for server and client
/// certificates with `tls`, plain HTTP without.
pub fn serve_logs(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<&Tls>,
) -> std::io::Result<()> {
    match tls {
        Some(tls) => {
            let listener = kairos_tls::http::TlsListener::new(listener, tls)?;
            let app = app.layer(axum::middleware::from_fn(log_readers));
            tokio::spawn(async move {
                let forever = std::future::pending::<()>();
                if let Err(e) = kairos_tls::http::serve(listener, app, forever).await {
                    tracing::error!("the log server stopped: {e}");
                }
            });
        }
        None => {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!("the log server stopped: {e}");
                }
            });
        }
    }
    Ok(())
}

/// Server and client certificates may read logs; worker certificates may not.
/// `/health` (which says "ok" and nothing else) answers any certificate of this
/// cluster, so a worker's container can check itself with its own.
async fn log_readers(request: Request, next: Next) -> Response {
    match request.extensions().get::<Identity>() {
        Some(caller) if matches!(caller.role, Role::Server | Role::Client) => {
            next.run(request).await
        }
        Some(_) if request.uri().path() == "/health" => next.run(request).await,
        Some(caller) => (
            StatusCode::FORBIDDEN,
            format!(
                "the log server takes server and client certificates only; {caller} is a {}\n",
                caller.role
            ),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            "the log server requires a certificate of this cluster\n",
        )
            .into_response(),
    }
}
