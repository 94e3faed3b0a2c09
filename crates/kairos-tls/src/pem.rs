//! Reading PEM files: certificate chains and private keys, with errors that name
//! the file and say what was expected in it.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{HOW_TO_MAKE, TlsError};

/// Every certificate in a PEM file, in order; at least one.
pub fn read_certs(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path, what)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::file(what, path, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::file(
            what,
            path,
            format!("holds no PEM certificate (-----BEGIN CERTIFICATE-----); {HOW_TO_MAKE}"),
        ));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "the private key";
    let bytes = read(path, what)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::file(
            what,
            path,
            format!("holds no PEM private key (-----BEGIN PRIVATE KEY-----); {HOW_TO_MAKE}"),
        ),
        other => TlsError::file(what, path, format!("is not a valid PEM key: {other}")),
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::file(what, path, format!("cannot be read: {e}")))
}
