//! `kairos certs`: makes a cluster's CA and the certificates of its servers,
//! workers and clients (kairos_tls::issue), in one folder (0700, files 0600):
//!
//! - `ca.pem` / `ca.key`: the CA (`init`); the key only ever stays here.
//! - `node-<id>.pem` / `.key` (`server`), `worker-<id>.pem` / `.key` (`worker`),
//!   `client-<name>.pem` / `.key` (`client`); a team's client certificate
//!   (`client --team T --role R`) names its holder `T:R:NAME`, which the
//!   servers read as that role within team T (docs/teams.md), in
//!   `client-T-NAME.pem`.
//!
//! Each command prints the flags that use what it wrote. Issuing again over an
//! existing certificate replaces it (rotation: the process reloads it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_tls::Identity;
use kairos_tls::issue::{Ca, private_dir, write_private};

use super::connect::fail;

#[derive(Args, Debug)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCommand,
}

/// Where the files are and how long what is made stays valid.
#[derive(Args, Debug, Clone)]
pub struct Where {
    /// The folder holding ca.pem and ca.key, where new files are written.
    #[arg(long, default_value = "certs")]
    pub dir: PathBuf,
    /// Days the new certificate is valid (the CA: ten years by default).
    #[arg(long)]
    pub days: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Make the cluster's CA (and so its cluster id) in --dir.
    Init {
        #[command(flatten)]
        at: Where,
        /// The cluster id (default: 16 random hex digits).
        #[arg(long)]
        cluster_id: Option<String>,
    },
    /// A server's certificate, valid for each --host its peers and clients dial.
    Server {
        #[command(flatten)]
        at: Where,
        #[arg(long)]
        node_id: u64,
        /// A DNS name or IP address the node is reached at; repeat for more.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
    },
    /// A worker's certificate: it names the worker id the worker acts as.
    Worker {
        #[command(flatten)]
        at: Where,
        #[arg(long)]
        id: String,
        /// A DNS name or IP address the worker's log server is reached at.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
    },
    /// A client certificate (the CLI, curl, tools): full use of the REST API
    /// and of the gRPC Cluster service; with --team, the REST API as --role of
    /// that team only.
    Client {
        #[command(flatten)]
        at: Where,
        #[arg(long)]
        name: String,
        /// Scope the certificate to this team (its name becomes TEAM:ROLE:NAME).
        #[arg(long, requires = "role")]
        team: Option<String>,
        /// The role within --team: viewer, operator or admin.
        #[arg(long, requires = "team", value_parser = ["viewer", "operator", "admin"])]
        role: Option<String>,
    },
}

pub fn run(args: &CertsArgs) -> ExitCode {
    match make(&args.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn make(command: &CertsCommand) -> Result<(), String> {
    match command {
        CertsCommand::Init { at, cluster_id } => {
            let ca_key = at.dir.join("ca.key");
            if ca_key.exists() {
                return Err(format!(
                    "{} already exists: this folder has a CA (a second would be another \
                     cluster); use another --dir",
                    ca_key.display()
                ));
            }
            let ca = Ca::new(cluster_id.as_deref(), at.days.unwrap_or(3650))
                .map_err(|e| e.to_string())?;
            private_dir(&at.dir).map_err(|e| io(&at.dir, e))?;
            write(&at.dir.join("ca.pem"), ca.cert_pem())?;
            write(&ca_key, &ca.key_pem())?;
            println!(
                "cluster {} CA: {} (give it to every process as --tls-ca); keep {} private",
                ca.cluster(),
                at.dir.join("ca.pem").display(),
                ca_key.display()
            );
            Ok(())
        }
        CertsCommand::Server { at, node_id, hosts } => issue(
            at,
            |c| Identity::server(c, *node_id),
            &format!("node-{node_id}"),
            hosts,
        ),
        CertsCommand::Worker { at, id, hosts } => issue(
            at,
            |c| Identity::worker(c, id),
            &format!("worker-{id}"),
            hosts,
        ),
        CertsCommand::Client {
            at,
            name,
            team,
            role,
        } => match (team, role) {
            (Some(team), Some(role)) => {
                if !kairos_dag::load::is_valid_id(team) {
                    return Err(format!(
                        "--team {team:?} is not a team name: use letters, digits, `_`, `-` and `.`"
                    ));
                }
                issue(
                    at,
                    |c| Identity::client(c, &format!("{team}:{role}:{name}")),
                    &format!("client-{team}-{name}"),
                    &[],
                )
            }
            _ => issue(
                at,
                |c| Identity::client(c, name),
                &format!("client-{name}"),
                &[],
            ),
        },
    }
}

fn issue(
    at: &Where,
    holder: impl FnOnce(&str) -> Identity,
    stem: &str,
    hosts: &[String],
) -> Result<(), String> {
    let ca = Ca::load(&at.dir.join("ca.pem"), &at.dir.join("ca.key")).map_err(|e| {
        format!(
            "{e} (make the CA first with `kairos certs init --dir {}`)",
            at.dir.display()
        )
    })?;
    let holder = holder(ca.cluster());
    let issued = ca
        .issue(&holder, hosts, at.days.unwrap_or(365))
        .map_err(|e| e.to_string())?;
    let cert = at.dir.join(format!("{stem}.pem"));
    let key = at.dir.join(format!("{stem}.key"));
    // The key first: a process watching both never pairs a new certificate
    // with the old key for longer than one look.
    write(&key, &issued.key_pem)?;
    write(&cert, &issued.cert_pem)?;
    println!(
        "{holder}: --tls-cert {} --tls-key {} --tls-ca {}",
        cert.display(),
        key.display(),
        at.dir.join("ca.pem").display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    write_private(path, text).map_err(|e| io(path, e))
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}
