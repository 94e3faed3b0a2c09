//! The command line, as clap types. Verbs follow Airflow's CLI where one exists.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "kairos",
    version,
    about = "Kairos: an Airflow-style workflow scheduler on a Raft-replicated store"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with DAG files.
    #[command(subcommand_required = true)]
    Dags(DagsArgs),
}

#[derive(Args, Debug)]
pub struct DagsArgs {
    #[command(subcommand)]
    pub command: DagsCommand,
}

#[derive(Subcommand, Debug)]
pub enum DagsCommand {
    /// Check DAG files (or folders of them) and print every problem; exits 1 on any error.
    Validate(ValidateArgs),
    /// Print the DAGs of a file: tasks, edges, schedule and the next data intervals.
    Show(ShowArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// DAG files, or folders searched for *.yml and *.yaml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Treat warnings (Airflow options Kairos ignores) as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A DAG file.
    pub file: PathBuf,
    /// Show only this DAG of the file.
    #[arg(long)]
    pub dag: Option<String>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Compute intervals as if it were this time (RFC 3339), instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// How many upcoming data intervals to list.
    #[arg(long, default_value_t = 5)]
    pub intervals: usize,
}
