//! `kairos cluster status|init|add-node|remove-node`, over the REST API like every
//! other verb (membership changes need an admin token when the servers have one).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::Client;
use kairos_client::api::{InitCluster, NewMember};
use kairos_server::config::parse_peers;
use serde::Serialize;

use super::connect::{Failure, Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Each member's id, address, role, term, last log index, last applied, and the leader.
    Status,
    /// Initialize a new cluster through --server, with these voters
    /// (`ID=HOST:PORT,...`; that server alone when empty). Not needed when servers
    /// were started with --peers.
    Init {
        #[arg(long, default_value = "")]
        members: String,
    },
    /// Add a node: first as a learner, then as a voter once it has caught up.
    AddNode {
        #[arg(long)]
        node_id: u64,
        /// The new node's gRPC address.
        #[arg(long)]
        grpc_addr: String,
        /// The new node's HTTP address.
        #[arg(long, default_value = "")]
        http_addr: String,
    },
    /// Remove a node from the cluster.
    RemoveNode {
        #[arg(long)]
        node_id: u64,
    },
}

pub fn cluster(args: &ClusterArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        match &args.command {
            ClusterCommand::Status => status(&api, output).await,
            ClusterCommand::Init { members } => {
                let members = parse_peers(members)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|(node_id, grpc_addr)| NewMember {
                        node_id,
                        grpc_addr,
                        http_addr: String::new(),
                    })
                    .collect();
                let node = api.init_cluster(&InitCluster { members }).await?;
                print_or(output, &node, || "initialized".to_string())
            }
            ClusterCommand::AddNode {
                node_id,
                grpc_addr,
                http_addr,
            } => {
                let member = NewMember {
                    node_id: *node_id,
                    grpc_addr: grpc_addr.clone(),
                    http_addr: http_addr.clone(),
                };
                let change = api.add_node(&member).await?;
                print_or(output, &change, || {
                    format!(
                        "node {node_id} is a voter (membership entry {})",
                        change.log_index
                    )
                })
            }
            ClusterCommand::RemoveNode { node_id } => {
                let change = api.remove_node(*node_id).await?;
                print_or(output, &change, || {
                    format!(
                        "node {node_id} removed (membership entry {})",
                        change.log_index
                    )
                })
            }
        }
    })
}

fn print_or(
    output: Output,
    answer: &impl Serialize,
    text: impl FnOnce() -> String,
) -> Result<(), Failure> {
    match output {
        Output::Json => print_json(answer)?,
        Output::Text => println!("{}", text()),
    }
    Ok(())
}

/// Every member as it reports itself, and who leads.
async fn status(api: &Client, output: Output) -> Result<(), Failure> {
    let view = api.cluster().await?;
    if output == Output::Json {
        print_json(&view)?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = view
        .members
        .iter()
        .map(|m| match &m.status {
            None => vec![
                m.node_id.to_string(),
                m.grpc_addr.clone(),
                "unreachable".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
            Some(s) => vec![
                s.node_id.to_string(),
                s.grpc_addr.clone(),
                s.role.clone(),
                s.term.to_string(),
                s.last_log_index.to_string(),
                s.last_applied.to_string(),
                table::optional(s.leader_id),
            ],
        })
        .collect();
    let header = [
        "ID", "ADDRESS", "ROLE", "TERM", "LAST LOG", "APPLIED", "LEADER",
    ];
    print!("{}", table::render(&header, &rows));
    let leaders: Vec<String> = view
        .members
        .iter()
        .filter(|m| m.status.as_ref().is_some_and(|s| s.role == "leader"))
        .map(|m| m.node_id.to_string())
        .collect();
    match leaders.as_slice() {
        [leader] => println!("leader: node {leader}"),
        [] => println!("leader: none (an election may be under way)"),
        many => println!(
            "leader: several nodes claim it ({}); terms differ",
            many.join(", ")
        ),
    }
    Ok(())
}
