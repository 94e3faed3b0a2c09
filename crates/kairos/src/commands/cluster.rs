//! `kairos server` and `kairos cluster ...`.

use std::path::Path;
use std::process::ExitCode;

use kairos_proto::v1::Member;
use kairos_server::cluster_service::ClusterService;
use kairos_server::config::{ConfigLayer, parse_peers};
use kairos_server::{ClusterClient, server};

use crate::cli::{ClusterArgs, ClusterCommand, Output, ServerArgs};
use crate::table;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn serve(args: &ServerArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIROS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let flags = ConfigLayer {
        node_id: args.node_id,
        data_dir: args.data_dir.clone(),
        grpc_addr: args.grpc_addr.clone(),
        http_addr: args.http_addr.clone(),
        peers: args.peers.clone(),
        heartbeat_ms: args.heartbeat_ms,
        election_timeout_ms: args.election_timeout_ms.clone(),
        snapshot_every: args.snapshot_every,
        keep_behind_snapshot: args.keep_behind_snapshot,
        worker_lease_ms: args.worker_lease_ms,
        worker_heartbeat_ms: args.worker_heartbeat_ms,
        worker_token_file: args.worker_token_file.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_ca: args.tls_ca.clone(),
        api_token_file: args.api_token_file.clone(),
        variables_key_file: args.variables_key_file.clone(),
    };
    let config = (|| {
        let env = ConfigLayer::from_env(|name| std::env::var(name).ok())?;
        let file = if Path::new(&args.config).exists() {
            ConfigLayer::from_file(&args.config)?
        } else {
            ConfigLayer::default()
        };
        flags.over(env).over(file).resolve()
    })();
    let config = match config {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(e),
    };
    match runtime.block_on(server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Makes this process's gRPC calls use TLS with the given CA.
fn kairos_raft_tls(ca_pem: &[u8]) -> Result<(), String> {
    kairos_server::client::use_tls(ca_pem)
}

pub fn cluster(args: &ClusterArgs) -> ExitCode {
    let addrs: Vec<String> = args
        .server
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(e),
    };
    if let Some(ca) = &args.tls_ca {
        let pem = match std::fs::read(ca) {
            Ok(pem) => pem,
            Err(e) => return fail(format!("cannot read --tls-ca {}: {e}", ca.display())),
        };
        if let Err(e) = kairos_raft_tls(&pem) {
            return fail(e);
        }
    }
    let client = ClusterClient::new(addrs);
    runtime.block_on(async {
        match &args.command {
            ClusterCommand::Status { output } => status(&client, *output).await,
            ClusterCommand::Init { members } => {
                let members = match parse_peers(members) {
                    Ok(peers) => peers
                        .into_iter()
                        .map(|(node_id, grpc_addr)| Member {
                            node_id,
                            grpc_addr,
                            http_addr: String::new(),
                            voter: true,
                        })
                        .collect(),
                    Err(e) => return fail(e),
                };
                match client.init(members).await {
                    Ok(()) => {
                        println!("initialized");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            ClusterCommand::AddNode {
                node_id,
                grpc_addr,
                http_addr,
            } => {
                let member = Member {
                    node_id: *node_id,
                    grpc_addr: grpc_addr.clone(),
                    http_addr: http_addr.clone(),
                    voter: true,
                };
                match client.add_node(member).await {
                    Ok(reply) => {
                        println!(
                            "node {node_id} is a voter (membership entry {})",
                            reply.log_index
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            ClusterCommand::RemoveNode { node_id } => match client.remove_node(*node_id).await {
                Ok(reply) => {
                    println!(
                        "node {node_id} removed (membership entry {})",
                        reply.log_index
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            },
        }
    })
}

/// Asks every member (as the first node that answers knows them) for its own status.
async fn status(client: &ClusterClient, output: Output) -> ExitCode {
    let mut first = None;
    for addr in client.addrs() {
        if let Ok(status) = client.status(addr).await {
            first = Some(status);
            break;
        }
    }
    let Some(first) = first else {
        return fail(format!(
            "no server answered at {}",
            client.addrs().join(", ")
        ));
    };
    let mut members = first.members.clone();
    if members.is_empty() {
        members.push(Member {
            node_id: first.node_id,
            grpc_addr: first.grpc_addr.clone(),
            http_addr: first.http_addr.clone(),
            voter: false,
        });
    }
    let mut rows = Vec::new();
    for member in &members {
        rows.push((member.clone(), client.status(&member.grpc_addr).await));
    }
    if output == Output::Json {
        let nodes: Vec<serde_json::Value> = rows
            .iter()
            .map(|(member, status)| match status {
                Ok(status) => {
                    let mut json = ClusterService::status_json(status);
                    json["voter"] = member.voter.into();
                    json
                }
                Err(e) => serde_json::json!({
                    "node_id": member.node_id, "grpc_addr": member.grpc_addr,
                    "voter": member.voter, "error": e.to_string(),
                }),
            })
            .collect();
        println!("{}", serde_json::json!({ "nodes": nodes }));
        return ExitCode::SUCCESS;
    }
    let mut table: Vec<Vec<String>> = Vec::new();
    for (member, status) in &rows {
        match status {
            Ok(s) => table.push(vec![
                s.node_id.to_string(),
                s.grpc_addr.clone(),
                s.role.clone(),
                s.term.to_string(),
                s.last_log_index.to_string(),
                s.last_applied.to_string(),
                if s.leader_id == 0 {
                    "-".into()
                } else {
                    s.leader_id.to_string()
                },
            ]),
            Err(_) => table.push(vec![
                member.node_id.to_string(),
                member.grpc_addr.clone(),
                "unreachable".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]),
        }
    }
    let header = [
        "ID", "ADDRESS", "ROLE", "TERM", "LAST LOG", "APPLIED", "LEADER",
    ];
    print!("{}", table::render(&header, &table));
    let leaders: Vec<u64> = rows
        .iter()
        .filter_map(|(_, s)| s.as_ref().ok())
        .filter(|s| s.role == "leader")
        .map(|s| s.node_id)
        .collect();
    match leaders.as_slice() {
        [leader] => println!("leader: node {leader}"),
        [] => println!("leader: none (an election may be under way)"),
        many => println!("leader: several nodes claim it ({many:?}); terms differ"),
    }
    ExitCode::SUCCESS
}
