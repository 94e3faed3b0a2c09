//! Making certificates (rcgen, ECDSA P-256): a cluster's CA, which carries the
//! cluster id as `kairos://<cluster-id>`, and the certificates it signs for
//! servers, workers and clients, each naming its holder. `kairos certs` and the
//! test harness both use this; files are written readable by their owner alone.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::SecureRandom;
use rustls_pki_types::pem::PemObject;

use crate::error::TlsError;
use crate::identity::{Identity, Role, ca_cluster_id, check_cluster_id};

/// A cluster's CA: its certificate and the key it signs with.
pub struct Ca {
    cluster: String,
    cert_pem: String,
    key: KeyPair,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

fn rcgen_error(what: &str) -> impl Fn(rcgen::Error) -> TlsError + '_ {
    move |e| TlsError::Invalid(format!("cannot make {what}: {e}"))
}

/// A new random cluster id: 16 hex digits.
pub fn new_cluster_id() -> Result<String, TlsError> {
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TlsError::Invalid("no randomness from the system".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn serial() -> Result<SerialNumber, TlsError> {
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TlsError::Invalid("no randomness from the system".into()))?;
    bytes[0] &= 0x7f; // a positive number
    Ok(SerialNumber::from(bytes.to_vec()))
}

/// From the start of yesterday (clocks a little behind still accept it) to
/// `days` days from today.
fn validity(params: &mut CertificateParams, days: u32) -> Result<(), TlsError> {
    use chrono::Datelike;
    if days == 0 {
        return Err(TlsError::Invalid(
            "a certificate must be valid for at least 1 day".into(),
        ));
    }
    let today = chrono::Utc::now().date_naive();
    let ymd = |d: chrono::NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let start = today.pred_opt().unwrap_or(today);
    let end = today
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .ok_or_else(|| TlsError::Invalid(format!("{days} days is too far ahead")))?;
    params.not_before = ymd(start);
    params.not_after = ymd(end);
    Ok(())
}

fn ia5(text: &str) -> Result<rcgen::string::Ia5String, TlsError> {
    rcgen::string::Ia5String::try_from(text.to_string())
        .map_err(|e| TlsError::Invalid(format!("{text:?} cannot go in a certificate: {e}")))
}

impl Ca {
    /// A new CA for the cluster `cluster` (a new random id when `None`), valid
    /// for `days` days.
    pub fn new(cluster: Option<&str>, days: u32) -> Result<Ca, TlsError> {
        let cluster = match cluster {
            Some(id) => {
                check_cluster_id(id).map_err(TlsError::Invalid)?;
                id.to_string()
            }
            None => new_cluster_id()?,
        };
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("Kairos cluster {cluster} CA"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.subject_alt_names = vec![SanType::URI(ia5(&format!("kairos://{cluster}"))?)];
        params.serial_number = Some(serial()?);
        validity(&mut params, days)?;
        let key = KeyPair::generate().map_err(rcgen_error("a CA key"))?;
        let cert = params
            .self_signed(&key)
            .map_err(rcgen_error("the CA certificate"))?;
        let signing = KeyPair::from_pem(&key.serialize_pem()).map_err(rcgen_error("the CA key"))?;
        Ok(Ca {
            cluster,
            cert_pem: cert.pem(),
            key,
            issuer: Issuer::new(params, signing),
        })
    }

    /// The CA in `cert` and `key` (PEM files made by [`Ca::new`]).
    pub fn load(cert: &Path, key: &Path) -> Result<Ca, TlsError> {
        let cert_pem = std::fs::read_to_string(cert).map_err(|e| {
            TlsError::file("the CA certificate", cert, format!("cannot be read: {e}"))
        })?;
        let key_pem = std::fs::read_to_string(key)
            .map_err(|e| TlsError::file("the CA key", key, format!("cannot be read: {e}")))?;
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
                TlsError::file(
                    "the CA certificate",
                    cert,
                    format!("is not a PEM certificate: {e}"),
                )
            })?;
        let cluster = ca_cluster_id(&der)
            .map_err(|e| TlsError::file("the CA certificate", cert, e.to_string()))?
            .ok_or_else(|| {
                TlsError::file(
                    "the CA certificate",
                    cert,
                    "carries no kairos://<cluster-id>: it was not made by `kairos certs ca`",
                )
            })?;
        let parsed = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| TlsError::file("the CA certificate", cert, e.to_string()))?
            .1;
        if !parsed.is_ca() {
            return Err(TlsError::file(
                "the CA certificate",
                cert,
                "is not a CA certificate",
            ));
        }
        let pair = KeyPair::from_pem(&key_pem)
            .map_err(|e| TlsError::file("the CA key", key, format!("is not a PEM key: {e}")))?;
        if pair.public_key_raw() != parsed.public_key().subject_public_key.data.as_ref() {
            return Err(TlsError::Invalid(format!(
                "the CA key {} is not the key of the CA certificate {}",
                key.display(),
                cert.display()
            )));
        }
        let signing = KeyPair::from_pem(&key_pem)
            .map_err(|e| TlsError::file("the CA key", key, format!("is not a PEM key: {e}")))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, signing)
            .map_err(|e| TlsError::file("the CA certificate", cert, e.to_string()))?;
        Ok(Ca {
            cluster,
            cert_pem,
            key: pair,
            issuer,
        })
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A certificate for `holder` (of this CA's cluster), valid for `days` days
    /// and, for a server or a worker, for the DNS names and IP addresses in
    /// `hosts` (what its peers dial). Servers and workers may serve and call;
    /// clients only call.
    pub fn issue(
        &self,
        holder: &Identity,
        hosts: &[String],
        days: u32,
    ) -> Result<Issued, TlsError> {
        holder
            .check()
            .map_err(|e| TlsError::Invalid(e.to_string()))?;
        if holder.cluster != self.cluster {
            return Err(TlsError::Invalid(format!(
                "{holder} is not of this CA's cluster {}",
                self.cluster
            )));
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("{} {}", holder.role, holder.name),
        );
        dn.push(
            DnType::OrganizationalUnitName,
            format!("kairos {}", holder.cluster),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match holder.role {
            Role::Server | Role::Worker => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            Role::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        params.use_authority_key_identifier_extension = true;
        let mut sans = vec![SanType::URI(ia5(&holder.uri())?)];
        if holder.role != Role::Client {
            if hosts.is_empty() {
                return Err(TlsError::Invalid(format!(
                    "a {}'s certificate needs the host names or IP addresses it is reached at",
                    holder.role
                )));
            }
            for host in hosts {
                let host = host.trim();
                sans.push(match host.parse::<IpAddr>() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => {
                        check_dns_name(host)?;
                        SanType::DnsName(ia5(host)?)
                    }
                });
            }
        }
        params.subject_alt_names = sans;
        params.serial_number = Some(serial()?);
        validity(&mut params, days)?;
        let key = KeyPair::generate().map_err(rcgen_error("a key"))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(rcgen_error("the certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A DNS name a certificate can carry: labels of letters, digits and `-`
/// (`*.` first for a wildcard).
fn check_dns_name(host: &str) -> Result<(), TlsError> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(TlsError::Invalid(format!(
            "{host:?} is neither an IP address nor a DNS name"
        )))
    }
}

/// Creates `dir` (and its parents) readable by its owner alone (0700).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Writes `path` readable by its owner alone (0600), replacing it at once: a
/// reader (a server watching its files) sees the old file or the new, never a
/// part.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp); // best effort: the error below is what matters
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_name_their_holder_and_the_ca_its_cluster() {
        let ca = Ca::new(Some("test-1"), 30).unwrap();
        let issued = ca
            .issue(
                &Identity::server("test-1", 2),
                &["127.0.0.1".into(), "node2.example".into()],
                10,
            )
            .unwrap();
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            Identity::from_der(&der).unwrap(),
            Identity::server("test-1", 2)
        );
        let ca_der =
            rustls_pki_types::CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).unwrap();
        assert_eq!(ca_cluster_id(&ca_der).unwrap().as_deref(), Some("test-1"));
        assert!(Identity::from_der(&ca_der).is_err());
    }

    #[test]
    fn a_saved_ca_loads_and_keeps_issuing_for_its_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(None, 30).unwrap();
        assert_eq!(ca.cluster().len(), 16);
        write_private(&dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        write_private(&dir.path().join("ca.key"), &ca.key_pem()).unwrap();
        let again = Ca::load(&dir.path().join("ca.pem"), &dir.path().join("ca.key")).unwrap();
        assert_eq!(again.cluster(), ca.cluster());
        let other = Ca::new(None, 30).unwrap();
        write_private(&dir.path().join("other.key"), &other.key_pem()).unwrap();
        let err = Ca::load(&dir.path().join("ca.pem"), &dir.path().join("other.key"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("is not the key of"), "{err}");
        let err = again
            .issue(&Identity::worker(again.cluster(), "w"), &[], 1)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("host names"), "{err}");
        let err = again
            .issue(&Identity::client("elsewhere", "a"), &[], 1)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not of this CA's cluster"), "{err}");
    }

    #[test]
    fn private_files_are_the_owner_s_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        private_dir(&sub).unwrap();
        write_private(&sub.join("x.key"), "secret").unwrap();
        write_private(&sub.join("x.key"), "replaced").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&sub.join("x.key")), 0o600);
        assert_eq!(
            std::fs::read_to_string(sub.join("x.key")).unwrap(),
            "replaced"
        );
    }
}
