//! rustls verifiers around webpki's: the chain to the cluster's CA is checked by
//! webpki, and on top of it the certificate must name a Kairos holder.
//!
//! - [`IdentifiedClients`] (a listening side): a client certificate signed by the
//!   CA is required, and it must name its holder, so every TLS connection a
//!   handler sees has an [`Identity`]. Which holder may do what is the
//!   authorization layer's decision, not this one.
//! - [`ExpectedPeer`] (a connecting side): the server must present a certificate
//!   of the expected role in the caller's own cluster (a worker's certificate,
//!   valid for its host, cannot pass for a server's).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use crate::identity::{Identity, Role};

fn refuse(message: String) -> rustls::Error {
    #[derive(Debug)]
    struct Message(String);
    impl std::fmt::Display for Message {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Message {}
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Message(
        message,
    )))))
}

/// Requires a client certificate signed by the CA that names its holder.
#[derive(Debug)]
pub(crate) struct IdentifiedClients {
    pub inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for IdentifiedClients {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        Identity::from_der(end_entity)
            .map_err(|e| refuse(format!("the client certificate is not a Kairos one: {e}")))?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks a server's certificate with webpki, then that it names a holder of
/// `role` in `cluster`.
#[derive(Debug)]
pub(crate) struct ExpectedPeer {
    pub inner: Arc<WebPkiServerVerifier>,
    pub role: Role,
    pub cluster: String,
}

impl ServerCertVerifier for ExpectedPeer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let host = server_name.to_str();
        let holder = Identity::from_der(end_entity).map_err(|e| {
            refuse(format!(
                "{host} presented a certificate that is not a Kairos one: {e}"
            ))
        })?;
        if holder.role != self.role || holder.cluster != self.cluster {
            return Err(refuse(format!(
                "{host} presented the certificate of {holder}, but a {} of cluster {} was expected",
                self.role, self.cluster
            )));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
