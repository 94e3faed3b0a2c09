//! `kairos health URL`: exits 0 when a node's (or a worker's) `/health` answers
//! 200 within a few seconds, 1 otherwise, saying why. Made for container
//! HEALTHCHECKs and systemd watchdogs: over TLS it presents the certificate of
//! the process it checks (any certificate of the cluster may ask `/health`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::connect::{fail, runtime};

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// The `/health` URL to ask (`http://` with --insecure servers, else `https://`).
    #[arg(env = "KAIROS_HEALTH_URL")]
    pub url: String,
    /// What answers there: a server's HTTP port, or a worker's log server.
    #[arg(long, value_enum, default_value_t = Checked::Server)]
    pub of: Checked,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// The certificate to present (any of the cluster's: server, worker or client).
    #[arg(long, env = "KAIROS_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert.
    #[arg(long, env = "KAIROS_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// The cluster's CA certificate.
    #[arg(long, env = "KAIROS_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Server,
    Worker,
}

pub fn health(args: &HealthArgs) -> ExitCode {
    match check(args) {
        Ok(body) => {
            println!("healthy: {}", body.trim());
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{} is not healthy: {e}", args.url)),
    }
}

fn check(args: &HealthArgs) -> Result<String, String> {
    let mut client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .redirect(reqwest::redirect::Policy::none());
    match (&args.tls_cert, &args.tls_key, &args.tls_ca) {
        (None, None, None) => {}
        (Some(cert), Some(key), Some(ca)) => {
            let tls = kairos_tls::Tls::load(kairos_tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            })
            .map_err(|e| e.to_string())?;
            let role = match args.of {
                Checked::Server => kairos_tls::Role::Server,
                Checked::Worker => kairos_tls::Role::Worker,
            };
            let config = tls.client_config(role, kairos_tls::Alpn::Http);
            client = client.use_preconfigured_tls((*config).clone());
        }
        _ => {
            return Err(
                "TLS needs all three of --tls-cert, --tls-key and --tls-ca (or none)".to_string(),
            );
        }
    }
    let client = client.build().map_err(|e| format!("no HTTP client: {e}"))?;
    let rt = runtime()?;
    rt.block_on(async {
        let answer = client
            .get(&args.url)
            .send()
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("it answered {status}: {}", body.trim()))
        }
    })
}
