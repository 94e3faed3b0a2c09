//! `kairos dags validate PATHS`: every problem of DAG files (or folders of them),
//! read locally; exits 1 on any error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_dag::diag::{Diagnostic, Severity};
use kairos_dag::load::{LoadOptions, load_paths};
use serde_json::json;

use super::python_files::{Sdk, python_dag_files, read_python_files};
use crate::commands::output::Output;

/// Exit code for "the files have problems" (usage errors exit 2, from clap).
pub(crate) const PROBLEMS: u8 = 1;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// DAG files, or folders searched for *.yml, *.yaml and Python DAG files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Treat warnings (Airflow options Kairos ignores) as errors.
    #[arg(long)]
    pub strict: bool,
}

pub fn validate(args: &ValidateArgs) -> ExitCode {
    let opts = LoadOptions {
        root: super::upload::config_root(),
        ..LoadOptions::default()
    };
    let yaml_paths: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| p.is_dir() || p.extension().is_none_or(|e| e != "py"))
        .cloned()
        .collect();
    let (mut files, mut problems) = if yaml_paths.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        load_paths(&yaml_paths, &opts)
    };
    // Python DAG files, evaluated here (never on a server).
    let python_files = python_dag_files(&args.paths);
    if !python_files.is_empty() {
        match Sdk::new() {
            Ok(sdk) => {
                // One reading per DAGs root (a folder given; a file alone is
                // its own).
                let mut by_root: Vec<(Option<PathBuf>, Vec<PathBuf>)> = Vec::new();
                for (path, root) in python_files {
                    match by_root
                        .iter_mut()
                        .find(|(r, _)| root.is_some() && *r == root)
                    {
                        Some((_, paths)) => paths.push(path),
                        None => by_root.push((root, vec![path])),
                    }
                }
                for (root, paths) in by_root {
                    let mut opts = opts.clone();
                    if root.is_some() {
                        opts.root = root;
                    }
                    files.extend(
                        read_python_files(&sdk, &paths, &opts)
                            .into_iter()
                            .map(|(loaded, _)| loaded),
                    );
                }
            }
            Err(e) => problems.push(Diagnostic::file_level(Severity::Error, ".", e)),
        }
    }
    if files.is_empty() && problems.is_empty() {
        problems.push(Diagnostic::file_level(
            Severity::Error,
            &args.paths[0].display().to_string(),
            "no DAG files here (*.yml, *.yaml, or *.py that mention airflow and dag)",
        ));
    }
    let all: Vec<&Diagnostic> = problems
        .iter()
        .chain(files.iter().flat_map(|f| f.diagnostics.iter()))
        .collect();
    let errors = all.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = all.len() - errors;
    let dags: usize = files.iter().map(|f| f.dags.len()).sum();
    match args.output {
        Output::Json => {
            let report = json!({
                "files": files.iter().map(|f| json!({
                    "path": f.path,
                    "dags": f.dags.iter().map(|v| &v.dag.dag_id).collect::<Vec<_>>(),
                    "diagnostics": f.diagnostics,
                })).collect::<Vec<_>>(),
                "problems": problems,
                "valid_dags": dags,
                "errors": errors,
                "warnings": warnings,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        Output::Text => {
            for d in &problems {
                eprintln!("{d}");
            }
            for f in &files {
                for d in &f.diagnostics {
                    eprintln!("{d}");
                }
                if !f.dags.is_empty() {
                    let ids: Vec<&str> = f.dags.iter().map(|v| v.dag.dag_id.as_str()).collect();
                    println!("ok  {}: {}", f.path, ids.join(", "));
                }
            }
            println!(
                "{} file(s) checked: {dags} valid DAG(s), {errors} error(s), {warnings} warning(s)",
                files.len()
            );
        }
    }
    if errors > 0 || (args.strict && warnings > 0) || files.is_empty() && !problems.is_empty() {
        ExitCode::from(PROBLEMS)
    } else {
        ExitCode::SUCCESS
    }
}
