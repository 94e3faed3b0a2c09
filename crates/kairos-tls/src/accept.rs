//! Accepting TLS connections off a TCP listener without letting one slow or
//! hostile handshake hold up the others: each handshake runs in its own task,
//! with a deadline, under a cap on how many run at once, and only connections
//! whose handshake succeeded (a client certificate from the CA included) come
//! out. A failed handshake is logged with the peer's address and dropped.
//!
//! The accept task ends, closing the listening socket, when the receiving side
//! is dropped (the server shut down).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::material::Alpn;
use crate::reload::Tls;

/// How long a client has to finish its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; past it, accepting waits.
const HANDSHAKES_AT_ONCE: usize = 256;

/// A connection whose handshake succeeded, and where it came from.
pub(crate) type Accepted = (TlsStream<TcpStream>, SocketAddr);

/// Starts accepting on `listener`; handshaken connections come out of the
/// receiver.
pub(crate) fn spawn(listener: TcpListener, tls: Tls, alpn: Alpn) -> mpsc::Receiver<Accepted> {
    let (tx, rx) = mpsc::channel::<Accepted>(64);
    let local = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(HANDSHAKES_AT_ONCE));
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let accepted = tokio::select! {
                _ = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(listener = %local, "accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.server_config(alpn));
            let tx = tx.clone();
            let local = local.clone();
            tokio::spawn(async move {
                let _permit = permit;
                match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send((stream, peer)).await;
                    }
                    Ok(Err(e)) => tracing::warn!(
                        listener = %local,
                        %peer,
                        "refused a TLS connection: {e}"
                    ),
                    Err(_) => tracing::warn!(
                        listener = %local,
                        %peer,
                        "refused a TLS connection: no handshake within {HANDSHAKE_DEADLINE:?}"
                    ),
                }
            });
        }
    });
    rx
}
