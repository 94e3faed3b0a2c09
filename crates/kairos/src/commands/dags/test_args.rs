//! The arguments of `kairos dags test`. They are not in `test.rs` beside the
//! command, as every other verb's are, because `test.rs` uses `dev.rs`, which
//! uses `cli.rs`, which names these arguments: keeping them apart keeps that
//! from becoming a circle of files.

use std::path::PathBuf;

use clap::Args;

use crate::commands::output::Output;

#[derive(Args, Debug)]
pub struct DagTestArgs {
    /// The DAG file.
    pub file: PathBuf,
    /// The DAG to run (may be left out when the file has one DAG).
    pub dag_id: Option<String>,
    /// The run's logical date (RFC 3339 or a date; default now).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}
