//! `kairos dags push PATHS`: validate DAG files locally, then upload each with the
//! files it references; an unchanged DAG makes no new version.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_dag::load::LoadOptions;

use super::upload::{dag_files, describe_push, prepare};
use crate::commands::connect::{Remote, fail, with_api};
use crate::commands::output::{Output, print_json};

#[derive(Args, Debug)]
pub struct PushArgs {
    /// DAG files, or folders searched for *.yml and *.yaml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The bundle the DAGs belong to.
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
    };
    // Validate everything locally first: nothing is uploaded if any file is broken.
    let mut uploads = Vec::new();
    for path in dag_files(&args.paths) {
        match prepare(&path, &opts) {
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
        for (n, upload) in uploads.iter().enumerate() {
            let answer = upload
                .push_for(&api, bundle.as_deref(), team.as_deref())
                .await?;
            if output == Output::Text {
                for line in describe_push(&answer) {
                    println!("[{}/{}] {line}", n + 1, uploads.len());
                }
            }
            all.push(answer);
        }
        if output == Output::Json {
            print_json(&all)?;
        }
        Ok(())
    })
}
