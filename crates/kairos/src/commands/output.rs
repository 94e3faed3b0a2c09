//! `--output`: text for people, JSON for scripts. Every command that prints takes it.

use clap::ValueEnum;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// Prints a value as one line of JSON. It goes through `serde_json::Value`,
/// whose objects keep their keys sorted: the order the CLI has always printed,
/// whatever order a wire type declares its fields in.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), serde_json::Error> {
    println!("{}", serde_json::to_value(value)?);
    Ok(())
}
