//! `kairos cluster status|init|add-node|remove-node`, over the REST API like every
//! other verb (membership changes need an admin token when the servers have one).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::Client;
use kairos_server::config::parse_peers;
use serde_json::Value;

use super::connect::{Failure, Remote, with_api};
use super::output::Output;
use crate::table::{self, cell};

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
                let members: Vec<(u64, String)> = parse_peers(members)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .collect();
                let answer = api.init_cluster(&members).await?;
                print_or(output, &answer, || "initialized".to_string());
                Ok(())
            }
            ClusterCommand::AddNode {
                node_id,
                grpc_addr,
                http_addr,
            } => {
                let answer = api.add_node(*node_id, grpc_addr, http_addr).await?;
                print_or(output, &answer, || {
                    format!(
                        "node {node_id} is a voter (membership entry {})",
                        answer["log_index"]
                    )
                });
                Ok(())
            }
            ClusterCommand::RemoveNode { node_id } => {
                let answer = api.remove_node(*node_id).await?;
                print_or(output, &answer, || {
                    format!(
                        "node {node_id} removed (membership entry {})",
                        answer["log_index"]
                    )
                });
                Ok(())
            }
        }
    })
}

fn print_or(output: Output, answer: &Value, text: impl FnOnce() -> String) {
    match output {
        Output::Json => println!("{answer}"),
        Output::Text => println!("{}", text()),
    }
}

/// Every member as it reports itself, and who leads.
async fn status(api: &Client, output: Output) -> Result<(), Failure> {
    let view = api.cluster().await?;
    if output == Output::Json {
        println!("{view}");
        return Ok(());
    }
    let members = view["members"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            let s = &m["status"];
            if s.is_null() {
                vec![
                    cell(&m["node_id"]),
                    cell(&m["grpc_addr"]),
                    "unreachable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]
            } else {
                vec![
                    cell(&s["node_id"]),
                    cell(&s["grpc_addr"]),
                    cell(&s["role"]),
                    cell(&s["term"]),
                    cell(&s["last_log_index"]),
                    cell(&s["last_applied"]),
                    cell(&s["leader_id"]),
                ]
            }
        })
        .collect();
    let header = [
        "ID", "ADDRESS", "ROLE", "TERM", "LAST LOG", "APPLIED", "LEADER",
    ];
    print!("{}", table::render(&header, &rows));
    let leaders: Vec<String> = members
        .iter()
        .filter(|m| m["status"]["role"] == "leader")
        .map(|m| cell(&m["node_id"]))
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
