//! How a remote command reaches the cluster: the `--server`, `--token` and
//! `--output` flags every remote subcommand takes, and running a command's body
//! with a `kairos_client::Client`, printing its error.

use std::process::ExitCode;

use clap::Args;
use kairos_client::Client;

use super::output::Output;

/// Why a command failed: a client error, or the command's own message.
pub(crate) type Failure = Box<dyn std::error::Error>;

/// Prints `error: MESSAGE` and gives the failing exit code.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Where the REST API is and who is asking.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// Any node's HTTP address (`HOST:PORT` or a URL); several, comma separated, are
    /// tried in turn. The default is `kairos dev`'s.
    #[arg(
        long,
        env = "KAIROS_SERVER",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// An API token (when the servers have api_token_file).
    #[arg(long, env = "KAIROS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A client certificate (PEM, from `kairos certs client`): the API is then
    /// reached over HTTPS with mutual TLS. Give --tls-key and --tls-ca with it.
    #[arg(long, env = "KAIROS_TLS_CERT", global = true)]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert.
    #[arg(long, env = "KAIROS_TLS_KEY", global = true)]
    pub tls_key: Option<std::path::PathBuf>,
    /// The cluster's CA certificate (PEM): the servers must present certificates
    /// it signed.
    #[arg(long, env = "KAIROS_TLS_CA", global = true)]
    pub tls_ca: Option<std::path::PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
}

/// A client of the API the flags name.
pub(crate) fn api(remote: &Remote) -> Result<Client, String> {
    let tls = match (&remote.tls_cert, &remote.tls_key, &remote.tls_ca) {
        (None, None, None) => None,
        (Some(cert), Some(key), Some(ca)) => Some(
            kairos_tls::Tls::load(kairos_tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            })
            .map_err(|e| e.to_string())?,
        ),
        _ => {
            return Err(
                "HTTPS needs all three of --tls-cert, --tls-key and --tls-ca \
                 (a client certificate from `kairos certs client`, its key, and the CA)"
                    .to_string(),
            );
        }
    };
    Client::builder(&remote.server)
        .token(remote.token.clone())
        .tls(tls)
        .build()
        .map_err(|e| match e {
            kairos_client::Error::NoServers => {
                "--server is empty: give a node's HTTP address, HOST:PORT".to_string()
            }
            other => other.to_string(),
        })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Runs `f` with a client of the API, printing its error.
pub(crate) fn with_api<F, Fut>(remote: &Remote, f: F) -> ExitCode
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let (api, rt) = match (api(remote), runtime()) {
        (Ok(api), Ok(rt)) => (api, rt),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    match rt.block_on(f(api)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
