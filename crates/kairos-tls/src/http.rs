//! TLS for axum: [`TlsListener`] is an `axum::serve::Listener` whose connections
//! are already handshaken (a client certificate from the CA required), and whose
//! address type [`PeerAddr`] carries the client's [`Identity`].
//!
//! Serve with [`serve`] (or `axum::serve(listener,
//! router.layer(from_fn(identify)).into_make_service_with_connect_info::<PeerAddr>())`),
//! and a handler finds the caller's identity as an [`Identity`] request extension
//! or with the [`PeerIdentity`] extractor. Over plain HTTP (`--insecure`) there is
//! none.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use crate::accept::Accepted;
use crate::identity::Identity;
use crate::material::Alpn;
use crate::reload::Tls;

/// An HTTPS listener: HTTP/2 and HTTP/1.1, client certificates required.
pub struct TlsListener {
    accepted: mpsc::Receiver<Accepted>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` with `tls`'s current material (each new
    /// connection takes the material current when it arrives).
    pub fn new(listener: TcpListener, tls: &Tls) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        Ok(TlsListener {
            accepted: crate::accept::spawn(listener, tls.clone(), Alpn::Http),
            local,
        })
    }
}

/// Where a connection came from and who holds its client certificate.
#[derive(Debug, Clone)]
pub struct PeerAddr {
    pub remote: SocketAddr,
    pub identity: Option<Identity>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = PeerAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some((stream, remote)) => {
                let identity = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .and_then(|leaf| Identity::from_der(leaf).ok());
                (stream, PeerAddr { remote, identity })
            }
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(PeerAddr {
            remote: self.local,
            identity: None,
        })
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Middleware: copies the connection's [`Identity`] into each request's
/// extensions, where handlers and authorization find it.
pub async fn identify(mut request: Request, next: Next) -> Response {
    let identity = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .and_then(|info| info.0.identity.clone());
    if let Some(identity) = identity {
        request.extensions_mut().insert(identity);
    }
    next.run(request).await
}

/// Extracts the caller's identity: `Some` on every HTTPS request, `None` over
/// plain HTTP (`--insecure`). Never rejects.
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Option<Identity>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIdentity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let identity = parts.extensions.get::<Identity>().cloned().or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<PeerAddr>>()
                .and_then(|info| info.0.identity.clone())
        });
        Ok(PeerIdentity(identity))
    }
}

/// Serves `router` over HTTPS on `listener` until `shutdown` completes, with
/// [`identify`] in front of every route.
pub async fn serve(
    listener: TlsListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router
        .layer(axum::middleware::from_fn(identify))
        .into_make_service_with_connect_info::<PeerAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
