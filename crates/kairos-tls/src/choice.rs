//! The choice every serving process makes at start: mutual TLS with the three
//! files `--tls-cert`, `--tls-key`, `--tls-ca`, or plain text with an explicit
//! `--insecure`. Neither is an error that says how to make certificates; both
//! is an error too (which one was meant?).

use std::path::PathBuf;

use crate::identity::Role;
use crate::material::TlsFiles;

/// `--tls-cert`, `--tls-key`, `--tls-ca` and `--insecure` as given.
#[derive(Debug, Clone, Default)]
pub struct TlsFlags {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub insecure: bool,
}

impl TlsFlags {
    /// The files to load (`None`: `--insecure`), or why the flags do not say.
    /// `role` and `example` (e.g. `server --node-id 1 --host 127.0.0.1`) shape the
    /// `kairos certs` line the error suggests.
    pub fn choose(&self, role: Role, example: &str) -> Result<Option<TlsFiles>, String> {
        let how = format!(
            "make certificates with `kairos certs init --dir certs` once per cluster, then \
             `kairos certs {example} --dir certs`, and give the files it prints as \
             --tls-cert, --tls-key and --tls-ca (or start with --insecure to speak plain \
             text on a trusted network only)"
        );
        match (&self.cert, &self.key, &self.ca, self.insecure) {
            (None, None, None, true) => Ok(None),
            (Some(cert), Some(key), Some(ca), false) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            })),
            (_, _, _, true) => Err(format!(
                "--insecure and --tls-* were both given: a {role} either speaks mutual TLS \
                 (--tls-cert, --tls-key, --tls-ca) or plain text (--insecure), not both"
            )),
            (None, None, None, false) => Err(format!(
                "this {role} has no certificate: every Kairos port speaks mutual TLS unless \
                 --insecure is given; {how}"
            )),
            _ => Err(format!(
                "mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca; {how}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_certificates_nor_insecure_says_how_to_make_them() {
        let err = TlsFlags::default()
            .choose(Role::Server, "server --node-id 1 --host 127.0.0.1")
            .unwrap_err();
        assert!(
            err.contains("kairos certs init") && err.contains("--insecure"),
            "{err}"
        );
        let both = TlsFlags {
            cert: Some("a".into()),
            insecure: true,
            ..TlsFlags::default()
        };
        assert!(
            both.choose(Role::Worker, "worker --id w1")
                .unwrap_err()
                .contains("not both")
        );
        let insecure = TlsFlags {
            insecure: true,
            ..TlsFlags::default()
        };
        assert_eq!(insecure.choose(Role::Worker, "").unwrap(), None);
    }
}
