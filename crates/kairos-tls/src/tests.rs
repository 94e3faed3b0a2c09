//! The crate end to end on 127.0.0.1: material that does not fit is refused with
//! the file named; an HTTPS listener requires a certificate from the CA and
//! tells the handler who called; a client refuses a server of the wrong role; a
//! reload changes what new connections are served.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::http::{PeerIdentity, TlsListener};
use crate::issue::{Ca, write_private};
use crate::{Alpn, Identity, Role, Tls, TlsFiles};

/// Writes `holder`'s certificate and key under `dir`, with `ca`'s certificate.
fn files(dir: &Path, ca: &Ca, holder: &Identity, stem: &str) -> TlsFiles {
    let issued = ca
        .issue(holder, &["127.0.0.1".into(), "localhost".into()], 30)
        .unwrap();
    let files = TlsFiles {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}.key")),
        ca: dir.join(format!("{stem}-ca.pem")),
    };
    write_private(&files.cert, &issued.cert_pem).unwrap();
    write_private(&files.key, &issued.key_pem).unwrap();
    write_private(&files.ca, ca.cert_pem()).unwrap();
    files
}

#[test]
fn material_that_does_not_fit_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(Some("one"), 30).unwrap();
    let other = Ca::new(Some("two"), 30).unwrap();
    let good = files(dir.path(), &ca, &Identity::server("one", 1), "n1");
    let tls = Tls::load(good.clone()).unwrap();
    assert_eq!(tls.identity(), Identity::server("one", 1));

    let missing = TlsFiles {
        cert: dir.path().join("nope.pem"),
        ..good.clone()
    };
    let err = Tls::load(missing).unwrap_err().to_string();
    assert!(
        err.contains("nope.pem") && err.contains("cannot be read"),
        "{err}"
    );

    let n2 = files(dir.path(), &ca, &Identity::server("one", 2), "n2");
    let swapped = TlsFiles {
        key: n2.key.clone(),
        ..good.clone()
    };
    let err = Tls::load(swapped).unwrap_err().to_string();
    assert!(err.contains("n2.key") && err.contains("n1.pem"), "{err}");

    let foreign = files(dir.path(), &other, &Identity::server("two", 1), "f1");
    let err = Tls::load(TlsFiles {
        ca: good.ca.clone(),
        ..foreign
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cluster two") && err.contains("n1-ca.pem"),
        "{err}"
    );

    std::fs::write(&good.key, "not a key").unwrap();
    let err = Tls::load(good).unwrap_err().to_string();
    assert!(
        err.contains("n1.key") && err.contains("no PEM private key"),
        "{err}"
    );
}

/// An HTTPS server on 127.0.0.1 that answers `/who` with the caller's identity.
async fn who_server(tls: &Tls) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = TlsListener::new(listener, tls).unwrap();
    let app = Router::new().route(
        "/who",
        get(|PeerIdentity(who): PeerIdentity| async move {
            who.map_or_else(|| "nobody".to_string(), |w| w.uri())
        }),
    );
    tokio::spawn(crate::http::serve(listener, app, std::future::pending()));
    addr
}

/// GET /who over TLS with `config`; the body, or the error.
async fn who(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<String, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /who HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    Ok(answer
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test]
async fn https_requires_a_certificate_from_the_ca_and_names_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(Some("c1"), 30).unwrap();
    let server = Tls::load(files(dir.path(), &ca, &Identity::server("c1", 1), "s")).unwrap();
    let addr = who_server(&server).await;

    let alice = Tls::load(files(
        dir.path(),
        &ca,
        &Identity::client("c1", "alice"),
        "a",
    ))
    .unwrap();
    let body = who(addr, alice.client_config(Role::Server, Alpn::Http)).await;
    assert_eq!(body.as_deref(), Ok("kairos://c1/client/alice"));

    // No client certificate: the handshake fails (TLS 1.3 reports it on the
    // first read, so the request gets no answer).
    let roots = {
        let mut roots = rustls::RootCertStore::empty();
        let der =
            rustls_pki_types::pem::PemObject::from_pem_slice(ca.cert_pem().as_bytes()).unwrap();
        roots.add(der).unwrap();
        roots
    };
    let anonymous = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let refused = who(addr, Arc::new(anonymous)).await;
    assert!(
        refused.as_ref().map_or(true, |b| b.is_empty()),
        "{refused:?}"
    );

    // A client of another cluster's CA is refused too.
    let other = Ca::new(Some("c2"), 30).unwrap();
    let mallory = Tls::load(files(dir.path(), &other, &Identity::client("c2", "m"), "m")).unwrap();
    let refused = who(addr, mallory.client_config(Role::Server, Alpn::Http)).await;
    assert!(
        refused.as_ref().map_or(true, |b| b.is_empty()),
        "{refused:?}"
    );

    // A caller that wants a worker refuses a server's certificate.
    let err = who(addr, alice.client_config(Role::Worker, Alpn::Http))
        .await
        .unwrap_err();
    assert!(
        err.contains("kairos://c1/server/1") && err.contains("a worker of cluster c1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_reload_serves_new_connections_with_the_new_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(Some("c1"), 30).unwrap();
    let server_files = files(dir.path(), &ca, &Identity::server("c1", 1), "s");
    let server = Tls::load(server_files.clone()).unwrap();
    let addr = who_server(&server).await;
    let alice = Tls::load(files(
        dir.path(),
        &ca,
        &Identity::client("c1", "alice"),
        "a",
    ))
    .unwrap();

    let served = |config: Arc<rustls::ClientConfig>| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .unwrap();
        stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    };
    let before = served(alice.client_config(Role::Server, Alpn::Http)).await;

    // A half-written rotation (a new certificate, the old key) is refused and
    // the old material stays.
    let renewed = ca
        .issue(&Identity::server("c1", 1), &["127.0.0.1".into()], 60)
        .unwrap();
    write_private(&server_files.cert, &renewed.cert_pem).unwrap();
    let err = server.reload().unwrap_err().to_string();
    assert!(err.contains("s.key"), "{err}");
    assert_eq!(
        served(alice.client_config(Role::Server, Alpn::Http)).await,
        before
    );

    write_private(&server_files.key, &renewed.key_pem).unwrap();
    server.reload().unwrap();
    let after = served(alice.client_config(Role::Server, Alpn::Http)).await;
    assert_ne!(after, before);
    let expected: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(renewed.cert_pem.as_bytes()).unwrap();
    assert_eq!(after, expected.to_vec());
}

#[tokio::test]
async fn the_watcher_reloads_when_the_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(Some("c1"), 30).unwrap();
    let worker_files = files(dir.path(), &ca, &Identity::worker("c1", "w1"), "w");
    let tls = Tls::load(worker_files.clone()).unwrap();
    let first = tls.not_after();
    let _watch = tls.watch(std::time::Duration::from_millis(20));
    let renewed = ca
        .issue(&Identity::worker("c1", "w1"), &["127.0.0.1".into()], 90)
        .unwrap();
    write_private(&worker_files.key, &renewed.key_pem).unwrap();
    write_private(&worker_files.cert, &renewed.cert_pem).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tls.not_after() == first {
        assert!(std::time::Instant::now() < deadline, "no reload seen");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(tls.not_after() > first);
}
