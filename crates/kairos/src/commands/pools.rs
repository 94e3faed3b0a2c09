//! `kairos pools list|get|set|delete`: named slot limits for task instances,
//! over the REST API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::api::{Pool, PoolBody};

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

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
        /// The team that owns the pool (only its DAGs may use it). A team's
        /// token always sets its own team; a cluster admin names any team
        /// (without it, the pool keeps the team it has).
        #[arg(long)]
        team: Option<String>,
    },
    /// Delete a pool (admin); `default_pool` stays.
    Delete { name: String },
}

fn pool_rows(pools: &[Pool]) -> String {
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.slots.to_string(),
                p.include_deferred.to_string(),
                table::optional(p.team.as_deref()),
                table::optional(p.description.as_deref()),
            ]
        })
        .collect();
    table::render(
        &["POOL", "SLOTS", "INCLUDE DEFERRED", "TEAM", "DESCRIPTION"],
        &rows,
    )
}

pub fn pools(args: &PoolsArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let pool = match &args.command {
            PoolsCommand::List => {
                let pools = api.pools().await?;
                match output {
                    Output::Json => print_json(&pools)?,
                    Output::Text => print!("{}", pool_rows(&pools)),
                }
                return Ok(());
            }
            PoolsCommand::Get { name } => api.pool(name).await?,
            PoolsCommand::Set {
                name,
                slots,
                description,
                include_deferred,
                team,
            } => {
                let body = PoolBody {
                    slots: *slots,
                    description: description.clone(),
                    include_deferred: *include_deferred,
                    team: team.clone(),
                };
                api.set_pool(name, &body).await?
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
            Output::Json => print_json(&pool)?,
            Output::Text => print!("{}", pool_rows(std::slice::from_ref(&pool))),
        }
        Ok(())
    })
}
