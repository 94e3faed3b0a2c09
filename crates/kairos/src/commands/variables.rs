//! `kairos variables list|get|set|delete`: the values tasks read with
//! `var.value.KEY`, over the REST API (admin only).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{Remote, with_api};
use super::output::Output;
use crate::table::{self, cell};

#[derive(Args, Debug)]
pub struct VariablesArgs {
    #[command(flatten)]
    pub remote: Remote,
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
    with_api(&args.remote, |api| async move {
        match &args.command {
            VariablesCommand::List => {
                let all = api.variables().await?;
                match output {
                    Output::Json => println!("{}", Value::Array(all)),
                    Output::Text => {
                        // Values are secrets as often as not: keys only, as Airflow lists them.
                        let rows: Vec<Vec<String>> = all
                            .iter()
                            .map(|v| vec![cell(&v["key"]), cell(&v["description"])])
                            .collect();
                        print!("{}", table::render(&["KEY", "DESCRIPTION"], &rows));
                    }
                }
            }
            VariablesCommand::Get { key } => {
                let answer = api.variable(key).await?;
                match output {
                    Output::Json => println!("{answer}"),
                    Output::Text => println!("{}", cell(&answer["value"])),
                }
            }
            VariablesCommand::Set {
                key,
                value,
                description,
            } => {
                api.set_variable(key, value, description.as_deref()).await?;
                if output == Output::Text {
                    println!("variable {key} set");
                }
            }
            VariablesCommand::Delete { key } => {
                api.delete_variable(key).await?;
                if output == Output::Text {
                    println!("variable {key} deleted");
                }
            }
        }
        Ok(())
    })
}
