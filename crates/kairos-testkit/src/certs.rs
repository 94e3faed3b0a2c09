//! Certificates for a TLS test cluster, made in the test's temp dir with
//! `kairos_tls::issue` exactly as `kairos certs` makes them: one CA (one
//! cluster), and on demand a server's, a worker's or a client's files.

use std::path::{Path, PathBuf};

use kairos_tls::issue::{Ca, private_dir, write_private};
use kairos_tls::{Identity, Tls, TlsFiles};

pub struct TestCerts {
    pub dir: PathBuf,
    pub ca: Ca,
}

impl TestCerts {
    /// A new CA (a new cluster id) writing under `dir`.
    pub fn new(dir: &Path) -> std::io::Result<TestCerts> {
        let ca = Ca::new(None, 30).map_err(std::io::Error::other)?;
        private_dir(dir)?;
        write_private(&dir.join("ca.pem"), ca.cert_pem())?;
        Ok(TestCerts {
            dir: dir.to_path_buf(),
            ca,
        })
    }

    pub fn cluster(&self) -> &str {
        self.ca.cluster()
    }

    /// Writes `holder`'s certificate and key (valid for 127.0.0.1 and
    /// localhost) as `<stem>.pem` / `<stem>.key`.
    pub fn issue(&self, holder: &Identity, stem: &str) -> std::io::Result<TlsFiles> {
        let issued = self
            .ca
            .issue(holder, &["127.0.0.1".into(), "localhost".into()], 30)
            .map_err(std::io::Error::other)?;
        let files = TlsFiles {
            cert: self.dir.join(format!("{stem}.pem")),
            key: self.dir.join(format!("{stem}.key")),
            ca: self.dir.join("ca.pem"),
        };
        write_private(&files.cert, &issued.cert_pem)?;
        write_private(&files.key, &issued.key_pem)?;
        Ok(files)
    }

    pub fn server(&self, id: u64) -> std::io::Result<TlsFiles> {
        self.issue(&Identity::server(self.cluster(), id), &format!("node{id}"))
    }

    pub fn worker(&self, id: &str) -> std::io::Result<TlsFiles> {
        self.issue(
            &Identity::worker(self.cluster(), id),
            &format!("worker-{id}"),
        )
    }

    pub fn client_files(&self, name: &str) -> std::io::Result<TlsFiles> {
        self.issue(
            &Identity::client(self.cluster(), name),
            &format!("client-{name}"),
        )
    }

    /// A loaded client certificate, for in-process clients.
    pub fn client(&self, name: &str) -> std::io::Result<Tls> {
        Tls::load(self.client_files(name)?).map_err(std::io::Error::other)
    }
}

/// `--tls-cert C --tls-key K --tls-ca A` for `files`.
pub fn flags(files: &TlsFiles) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        files.cert.display().to_string(),
        "--tls-key".into(),
        files.key.display().to_string(),
        "--tls-ca".into(),
        files.ca.display().to_string(),
    ]
}
