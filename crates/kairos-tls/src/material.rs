//! One load of a holder's TLS material: its certificate chain, its key and the
//! cluster's CA certificates, checked to fit together (the key is the
//! certificate's, the certificate chains to the CA and names its holder, it is
//! valid now), and the rustls configurations built from them once.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::UnixTime;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::{HOW_TO_MAKE, TlsError};
use crate::identity::{Identity, Role, ca_cluster_id};
use crate::pem::{read_certs, read_key};
use crate::verify::{ExpectedPeer, IdentifiedClients};

/// Where a holder's PEM files are: its certificate (chain), its key, and the CA
/// certificates it trusts (more than one while a CA is being rotated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Which application protocol a connection speaks (ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// gRPC: HTTP/2 only.
    Grpc,
    /// HTTP: a listener offers HTTP/2 and HTTP/1.1, a client asks for HTTP/1.1.
    Http,
}

/// Checked material and the configurations made from it.
pub(crate) struct Material {
    pub identity: Identity,
    /// When the certificate stops being valid (seconds since the epoch).
    pub not_after: i64,
    grpc_server: Arc<ServerConfig>,
    http_server: Arc<ServerConfig>,
    /// By (the role the peer must have, the protocol).
    clients: Vec<((Role, Alpn), Arc<ClientConfig>)>,
}

impl Material {
    pub fn load(files: &TlsFiles) -> Result<Material, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = read_certs(&files.cert, "the certificate")?;
        let key = read_key(&files.key)?;
        let cas = read_certs(&files.ca, "the CA certificate file")?;
        let mut roots = RootCertStore::empty();
        for (i, ca) in cas.iter().enumerate() {
            roots.add(ca.clone()).map_err(|e| {
                TlsError::file(
                    "the CA certificate file",
                    &files.ca,
                    format!("certificate {} is not a usable CA certificate: {e}", i + 1),
                )
            })?;
        }
        let roots = Arc::new(roots);

        let identity = Identity::from_der(&chain[0]).map_err(|e| {
            TlsError::file(
                "the certificate",
                &files.cert,
                format!("{e}; {HOW_TO_MAKE}"),
            )
        })?;
        let parsed = x509_parser::parse_x509_certificate(&chain[0])
            .map_err(|e| TlsError::file("the certificate", &files.cert, e.to_string()))?
            .1;
        let not_after = parsed.validity().not_after.timestamp();

        // The key must be the certificate's.
        let certified =
            rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
                .map_err(|e| {
                    TlsError::Invalid(format!(
                        "the key {} does not go with the certificate {}: {e}",
                        files.key.display(),
                        files.cert.display()
                    ))
                })?;
        certified.keys_match().map_err(|_| {
            TlsError::Invalid(format!(
                "the key {} is not the key of the certificate {}: give the key made with it",
                files.key.display(),
                files.cert.display()
            ))
        })?;

        // The CA must be this holder's cluster's, and must have signed the
        // certificate (checked as a peer would, so a bad pair fails here and not
        // at the first connection).
        let clusters: Vec<String> = cas
            .iter()
            .filter_map(|ca| ca_cluster_id(ca).ok().flatten())
            .collect();
        if !clusters.is_empty() && !clusters.contains(&identity.cluster) {
            return Err(TlsError::Invalid(format!(
                "the certificate {} belongs to cluster {}, but the CA file {} is cluster {}'s: \
                 give the CA that issued it",
                files.cert.display(),
                identity.cluster,
                files.ca.display(),
                clusters.join(", ")
            )));
        }
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| TlsError::file("the CA certificate file", &files.ca, e.to_string()))?;
        client_verifier
            .verify_client_cert(&chain[0], &chain[1..], UnixTime::now())
            .map_err(|e| {
                TlsError::Invalid(format!(
                    "the certificate {} does not check against the CA {}: {}",
                    files.cert.display(),
                    files.ca.display(),
                    explain(&e)
                ))
            })?;

        let server = |alpn: Alpn| -> Result<Arc<ServerConfig>, TlsError> {
            let verifier = Arc::new(IdentifiedClients {
                inner: client_verifier.clone(),
            });
            let mut config = ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Invalid(format!("TLS versions: {e}")))?
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain.clone(), key.clone_key())
                .map_err(|e| cert_error(files, e))?;
            config.alpn_protocols = match alpn {
                Alpn::Grpc => vec![b"h2".to_vec()],
                Alpn::Http => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            };
            Ok(Arc::new(config))
        };
        let client = |role: Role, alpn: Alpn| -> Result<Arc<ClientConfig>, TlsError> {
            let inner =
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| {
                        TlsError::file("the CA certificate file", &files.ca, e.to_string())
                    })?;
            let verifier = Arc::new(ExpectedPeer {
                inner,
                role,
                cluster: identity.cluster.clone(),
            });
            let mut config = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Invalid(format!("TLS versions: {e}")))?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| cert_error(files, e))?;
            config.alpn_protocols = match alpn {
                Alpn::Grpc => vec![b"h2".to_vec()],
                Alpn::Http => vec![b"http/1.1".to_vec()],
            };
            Ok(Arc::new(config))
        };
        let mut clients = Vec::new();
        for role in [Role::Server, Role::Worker] {
            for alpn in [Alpn::Grpc, Alpn::Http] {
                clients.push(((role, alpn), client(role, alpn)?));
            }
        }
        Ok(Material {
            identity,
            not_after,
            grpc_server: server(Alpn::Grpc)?,
            http_server: server(Alpn::Http)?,
            clients,
        })
    }

    pub fn server_config(&self, alpn: Alpn) -> Arc<ServerConfig> {
        match alpn {
            Alpn::Grpc => self.grpc_server.clone(),
            Alpn::Http => self.http_server.clone(),
        }
    }

    /// A client configuration that accepts only a peer of `role`; `None` for a
    /// role that serves nothing (clients).
    pub fn client_config(&self, role: Role, alpn: Alpn) -> Option<Arc<ClientConfig>> {
        self.clients
            .iter()
            .find(|(k, _)| *k == (role, alpn))
            .map(|(_, c)| c.clone())
    }
}

fn cert_error(files: &TlsFiles, e: rustls::Error) -> TlsError {
    TlsError::Invalid(format!(
        "the certificate {} with the key {} cannot be used: {e}",
        files.cert.display(),
        files.key.display()
    ))
}

/// A verification error in words a person can act on.
fn explain(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "it was not signed by any CA in that file (a certificate of another cluster, \
             or the wrong CA file)"
                .into()
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("it has expired ({e}); issue a new one with `kairos certs`")
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!("it is not valid yet ({e}); check this machine's clock")
        }
        rustls::Error::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
            "it is not made for TLS clients (no clientAuth extended key usage); \
             Kairos certificates are both (`kairos certs`)"
                .into()
        }
        other => other.to_string(),
    }
}
