//! `kairos bundles list|versions|show|diff`: the cluster's bundles, each one's
//! versions (which DAG versions each push made), the files of one version, and
//! which files changed between two versions. Pushing a bundle is `kairos dags
//! push FOLDER`.

use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::connect::{Remote, with_api};
use super::output::{Output, print_json};
use crate::table;

#[derive(Args, Debug)]
pub struct BundlesArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: BundlesCommand,
}

#[derive(Subcommand, Debug)]
pub enum BundlesCommand {
    /// Every bundle with its team, environment and newest version.
    List,
    /// A bundle's versions, oldest first, with the DAG versions each push made.
    Versions { bundle: String },
    /// The files of one version of a bundle, with their content hashes.
    Show { bundle: String, version: u32 },
    /// The files added, removed and changed from one version to another.
    Diff { bundle: String, from: u32, to: u32 },
}

pub fn bundles(args: &BundlesArgs) -> ExitCode {
    let output = args.remote.output;
    let read = kairos_client::Read::Local;
    with_api(&args.remote, |api| async move {
        match &args.command {
            BundlesCommand::List => {
                let bundles = api.bundles(read).await?;
                match output {
                    Output::Json => print_json(&bundles)?,
                    Output::Text => {
                        let rows: Vec<Vec<String>> = bundles
                            .iter()
                            .map(|b| {
                                vec![
                                    b.name.clone(),
                                    table::optional(b.team.as_deref()),
                                    table::optional(b.environment.as_deref()),
                                    b.latest_version.to_string(),
                                    b.updated_at.to_rfc3339(),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table::render(
                                &["BUNDLE", "TEAM", "ENVIRONMENT", "VERSION", "UPDATED"],
                                &rows
                            )
                        );
                    }
                }
            }
            BundlesCommand::Versions { bundle } => {
                let versions = api.bundle_versions(bundle, read).await?;
                match output {
                    Output::Json => print_json(&versions)?,
                    Output::Text => {
                        let rows: Vec<Vec<String>> = versions
                            .iter()
                            .map(|v| {
                                vec![
                                    v.version.to_string(),
                                    v.created_at.to_rfc3339(),
                                    v.files.to_string(),
                                    v.dags
                                        .iter()
                                        .map(|(d, n)| format!("{d}@{n}"))
                                        .collect::<Vec<_>>()
                                        .join(" "),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table::render(&["VERSION", "CREATED", "FILES", "DAG VERSIONS"], &rows)
                        );
                    }
                }
            }
            BundlesCommand::Show { bundle, version } => {
                let detail = api.bundle_version(bundle, *version).await?;
                match output {
                    Output::Json => print_json(&detail)?,
                    Output::Text => {
                        println!(
                            "bundle {} version {} (team {}, environment {})",
                            detail.bundle,
                            detail.version,
                            table::optional(detail.team.as_deref()),
                            table::optional(detail.environment.as_deref())
                        );
                        for (path, hash) in &detail.files {
                            println!("{hash}  {path}");
                        }
                    }
                }
            }
            BundlesCommand::Diff { bundle, from, to } => {
                let old = api.bundle_version(bundle, *from).await?;
                let new = api.bundle_version(bundle, *to).await?;
                let paths: BTreeSet<&String> = old.files.keys().chain(new.files.keys()).collect();
                let mut changes = Vec::new();
                for path in paths {
                    let change = match (old.files.get(path), new.files.get(path)) {
                        (None, Some(_)) => "added",
                        (Some(_), None) => "removed",
                        (Some(a), Some(b)) if a != b => "changed",
                        _ => continue,
                    };
                    changes.push(serde_json::json!({"path": path, "change": change}));
                }
                match output {
                    Output::Json => print_json(&changes)?,
                    Output::Text => {
                        if changes.is_empty() {
                            println!("no file changed from version {from} to {to}");
                        }
                        for c in &changes {
                            println!(
                                "{:8} {}",
                                c["change"].as_str().unwrap_or(""),
                                c["path"].as_str().unwrap_or("")
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    })
}
