//! `kairos pools list|get|set|delete`: named slot limits for task instances,
//! over the REST API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{Remote, with_api};
use super::output::Output;
use crate::table::{self, cell};

#[derive(Args, Debug)]
pub struct PoolsArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: PoolsCommand,
}

#[derive(Subcommand, Debug)]
pub enum PoolsCommand {
    /// Every pool with its slots.
    List,
    /// One pool.
    Get { name: String },
    /// Create or change a pool (admin).
    Set {
        name: String,
        slots: u32,
        #[arg(long)]
        description: Option<String>,
        /// Count deferred task instances against the slots.
        #[arg(long)]
        include_deferred: bool,
    },
    /// Delete a pool (admin); `default_pool` stays.
    Delete { name: String },
}

fn pool_rows(pools: &[Value]) -> String {
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                cell(&p["name"]),
                cell(&p["slots"]),
                cell(&p["include_deferred"]),
                cell(&p["description"]),
            ]
        })
        .collect();
    table::render(&["POOL", "SLOTS", "INCLUDE DEFERRED", "DESCRIPTION"], &rows)
}

pub fn pools(args: &PoolsArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let answer = match &args.command {
            PoolsCommand::List => api.pools().await?["pools"].take(),
            PoolsCommand::Get { name } => api.pool(name).await?,
            PoolsCommand::Set {
                name,
                slots,
                description,
                include_deferred,
            } => {
                api.set_pool(name, *slots, description.as_deref(), *include_deferred)
                    .await?
            }
            PoolsCommand::Delete { name } => {
                api.delete_pool(name).await?;
                if output == Output::Text {
                    println!("pool {name} deleted");
                }
                return Ok(());
            }
        };
        match output {
            Output::Json => println!("{answer}"),
            Output::Text => match answer.as_array() {
                Some(list) => print!("{}", pool_rows(list)),
                None => print!("{}", pool_rows(std::slice::from_ref(&answer))),
            },
        }
        Ok(())
    })
}
