//! TLS for tonic, both ways.
//!
//! - Serving: [`incoming`] turns a TCP listener into the stream of handshaken
//!   `tokio_rustls` connections that `Server::serve_with_incoming` takes; tonic
//!   implements `Connected` for them, so a handler's `request.peer_certs()` is the
//!   client's chain and [`peer_identity`] its holder.
//! - Calling: [`connect_lazy`] makes a channel whose every new connection uses
//!   the holder's current client configuration (so reloaded certificates are
//!   used from the next connection on) and checks the peer's role.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream as ClientTlsStream;
use tokio_rustls::server::TlsStream;
use tonic::codegen::Service;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

use crate::identity::{Identity, Role};
use crate::material::Alpn;
use crate::reload::Tls;

/// The connections a TLS gRPC listener hands to tonic: only those whose client
/// presented a certificate from the CA naming its holder.
pub fn incoming(
    listener: TcpListener,
    tls: Tls,
) -> impl Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> + Send + 'static {
    let rx = crate::accept::spawn(listener, tls, Alpn::Grpc);
    futures::stream::unfold(rx, |mut rx| async move {
        let (stream, _) = rx.recv().await?;
        Some((Ok(stream), rx))
    })
}

/// The holder of the client certificate a gRPC call came with. `None` when the
/// call did not come over TLS, which happens only on a server started with
/// `--insecure`: a TLS listener accepts no connection without a certificate that
/// names its holder.
pub fn peer_identity<T>(request: &tonic::Request<T>) -> Option<Identity> {
    let certs = request.peer_certs()?;
    let leaf = certs.first()?;
    Identity::from_der(leaf).ok()
}

/// A lazily connecting channel to the `http://HOST:PORT` of `endpoint` over TLS:
/// each new connection presents this holder's current certificate and requires
/// the peer to present one of a `peer` in the same cluster, valid for HOST. The
/// endpoint's URI must say `http://` (TLS is this connector's job, not tonic's).
pub fn connect_lazy(endpoint: Endpoint, tls: &Tls, peer: Role) -> Channel {
    endpoint.connect_with_connector_lazy(Connector {
        tls: tls.clone(),
        peer,
    })
}

/// Connects TCP, then TLS with the holder's configuration of the moment.
#[derive(Clone)]
struct Connector {
    tls: Tls,
    peer: Role,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for Connector {
    type Response = TokioIo<ClientTlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let config = self.tls.client_config(self.peer, Alpn::Grpc);
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| format!("{uri} names no host"))?;
            let port = uri
                .port_u16()
                .ok_or_else(|| format!("{uri} names no port"))?;
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let name = ServerName::try_from(bare.to_string())
                .map_err(|e| format!("{host} cannot be checked against a certificate: {e}"))?;
            let tcp = TcpStream::connect((bare, port)).await?;
            let _ = tcp.set_nodelay(true);
            let stream = TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
            Ok(TokioIo::new(stream))
        })
    }
}
