//! `kairos variables list|get|set|delete`: the values tasks read with
//! `var.value.KEY`, over the REST API (admin only). `--team T` names a team's
//! Variables (a team's token always means its own team).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kairos_client::api::VariableBody;

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct VariablesArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// Whose Variables: a team's (a team's token always means its own; it also
    /// reads the cluster-wide ones its team has no Variable of). Without it, a
    /// cluster-wide token means the cluster-wide Variables.
    #[arg(long, global = true)]
    pub team: Option<String>,
    #[command(subcommand)]
    pub command: VariablesCommand,
}

#[derive(Subcommand, Debug)]
pub enum VariablesCommand {
    /// Every Variable's key (values with --output json).
    List,
    /// One Variable's value.
    Get { key: String },
    /// Create or change a Variable (admin).
    Set {
        key: String,
        value: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a Variable (admin).
    Delete { key: String },
}

pub fn variables(args: &VariablesArgs) -> ExitCode {
    let output = args.remote.output;
    let team = args.team.as_deref();
    with_api(&args.remote, |api| async move {
        match &args.command {
            VariablesCommand::List => {
                let all = api.variables(team).await?;
                match output {
                    Output::Json => print_json(&all)?,
                    Output::Text => {
                        // Values are secrets as often as not: keys only, as Airflow lists them.
                        let rows: Vec<Vec<String>> = all
                            .iter()
                            .map(|v| {
                                vec![
                                    v.key.clone(),
                                    table::optional(v.team.as_deref()),
                                    table::optional(v.description.as_deref()),
                                ]
                            })
                            .collect();
                        print!("{}", table::render(&["KEY", "TEAM", "DESCRIPTION"], &rows));
                    }
                }
            }
            VariablesCommand::Get { key } => {
                let variable = api.variable(key, team).await?;
                match output {
                    Output::Json => print_json(&variable)?,
                    Output::Text => println!("{}", variable.value),
                }
            }
            VariablesCommand::Set {
                key,
                value,
                description,
            } => {
                let body = VariableBody {
                    value: value.clone(),
                    description: description.clone(),
                };
                api.set_variable(key, team, &body).await?;
                if output == Output::Text {
                    println!("variable {key} set");
                }
            }
            VariablesCommand::Delete { key } => {
                api.delete_variable(key, team).await?;
                if output == Output::Text {
                    println!("variable {key} deleted");
                }
            }
        }
        Ok(())
    })
}
