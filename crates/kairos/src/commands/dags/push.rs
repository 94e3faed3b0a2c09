//! `kairos dags push PATHS`: a folder is pushed as a bundle (every file in it, one
//! bundle version, see docs/bundles.md); a single DAG file is uploaded with the
//! files it references. Everything is validated locally first, and an unchanged
//! DAG makes no new version.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_dag::load::LoadOptions;

use super::bundle::{describe_bundle_push, read_bundle};
use super::upload::{describe_push, prepare};
use crate::commands::connect::{Remote, fail, with_api};
use crate::commands::output::{Output, print_json};

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Bundle folders (with an optional kairos-bundle.toml), or DAG files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The bundle the DAGs belong to (a folder's kairos-bundle.toml may name it).
    #[arg(long)]
    pub bundle: Option<String>,
    /// The team the DAGs belong to. A team's token pushes for its own team
    /// only (leave this out or name it); a cluster-wide token names any team.
    #[arg(long)]
    pub team: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn push(args: &PushArgs) -> ExitCode {
    let opts = LoadOptions {
        bundle: args
            .bundle
            .clone()
            .unwrap_or_else(|| kairos_dag::model::defaults::BUNDLE.to_string()),
        team: args.team.clone(),
        environment: None,
        root: super::upload::config_root(),
    };
    // Validate everything locally first: nothing is uploaded if any file is broken.
    let mut bundles = Vec::new();
    let mut uploads = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            match read_bundle(path, args.bundle.as_deref()) {
                Ok(mut bundle) => {
                    match (&bundle.push.team, &args.team) {
                        (Some(named), Some(flag)) if named != flag => {
                            return fail(format!(
                                "{} names team `{named}` but --team says `{flag}`; drop one of them",
                                path.join(kairos_dag::bundle::MANIFEST).display()
                            ));
                        }
                        (None, Some(flag)) => bundle.push.team = Some(flag.clone()),
                        _ => {}
                    }
                    bundles.push(bundle)
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    return fail(format!(
                        "bundle {} is not valid; nothing was pushed",
                        path.display()
                    ));
                }
            }
            continue;
        }
        match prepare(path, &opts) {
            Ok(upload) => uploads.push(upload),
            Err(problems) => {
                eprintln!("{problems}");
                return fail(format!(
                    "{} is not valid; nothing was pushed",
                    path.display()
                ));
            }
        }
    }
    let output = args.remote.output;
    let bundle = args.bundle.clone();
    let team = args.team.clone();
    with_api(&args.remote, |api| async move {
        let mut all = Vec::new();
        for local in &bundles {
            let pushed = local.push(&api).await?;
            if output == Output::Text {
                for line in describe_bundle_push(&pushed) {
                    println!("{line}");
                }
            }
            all.push(serde_json::to_value(&pushed.answer).map_err(|e| e.to_string())?);
        }
        for (n, upload) in uploads.iter().enumerate() {
            let answer = upload
                .push_for(&api, bundle.as_deref(), team.as_deref())
                .await?;
            if output == Output::Text {
                for line in describe_push(&answer) {
                    println!("[{}/{}] {line}", n + 1, uploads.len());
                }
            }
            all.push(serde_json::to_value(&answer).map_err(|e| e.to_string())?);
        }
        if output == Output::Json {
            print_json(&all)?;
        }
        Ok(())
    })
}
