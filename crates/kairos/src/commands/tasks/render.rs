//! `kairos tasks render FILE TASK_ID`: a task's templated arguments rendered for
//! a date, from the DAG file alone (Airflow's `tasks render`, offline). The run
//! is a manual run at `--logical-date` with Airflow's inferred data interval;
//! there is no cluster, so `ti.xcom_pull` gives None and Variables are missing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kairos_dag::lifecycle::RunType;
use kairos_dag::load::{LoadOptions, load_file};
use kairos_dag::template::{Renderer, RunFacts, Sources, TaskInstanceFacts, build_context};
use serde_json::Value;

use crate::commands::args::{parse_conf, parse_date};
use crate::commands::connect::fail;
use crate::commands::dags::upload::config_root;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The DAG file.
    pub file: PathBuf,
    /// The task.
    pub task_id: String,
    /// The DAG, when more than one DAG of the file has the task.
    #[arg(long)]
    pub dag_id: Option<String>,
    /// The run's logical date (RFC 3339 or a date; default now).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
}

pub fn render(args: &RenderArgs) -> ExitCode {
    match rendered(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn rendered(args: &RenderArgs) -> Result<String, String> {
    let opts = LoadOptions {
        root: config_root(),
        ..LoadOptions::default()
    };
    let loaded = load_file(&args.file, &opts);
    if loaded.has_errors() {
        return Err(loaded.error_messages().join("\n"));
    }
    let with_task: Vec<_> = loaded
        .dags
        .iter()
        .map(|v| &v.dag)
        .filter(|d| args.dag_id.as_ref().is_none_or(|id| &d.dag_id == id))
        .filter(|d| d.task(&args.task_id).is_some())
        .collect();
    let dag = match with_task.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "{} has no task `{}`{}",
                args.file.display(),
                args.task_id,
                args.dag_id
                    .as_ref()
                    .map(|d| format!(" in DAG `{d}`"))
                    .unwrap_or_default()
            ));
        }
        many => {
            return Err(format!(
                "DAGs {} all have a task `{}`; name one with --dag-id",
                many.iter()
                    .map(|d| d.dag_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.task_id
            ));
        }
    };
    let task = dag.task(&args.task_id).expect("found above").clone();
    let now = chrono::Utc::now();
    let logical = match &args.logical_date {
        Some(text) => parse_date("--logical-date", text)?,
        None => now,
    };
    let run = RunFacts {
        run_id: RunType::Manual.run_id(logical, None),
        run_type: RunType::Manual,
        logical_date: Some(logical),
        data_interval: Some(
            dag.schedule
                .infer_manual_data_interval(dag.timezone, logical),
        ),
        run_after: logical,
        conf: parse_conf(args.conf.as_deref())?,
        prev_success: None,
        triggering_asset_events: Vec::new(),
    };
    let ctx = build_context(
        dag,
        &task,
        &run,
        &TaskInstanceFacts {
            try_number: 1,
            map_index: -1,
        },
        &Sources::none(now),
    );
    let operator = serde_json::to_value(&task.operator)
        .map_err(|e| format!("the task cannot be shown: {e}"))?;
    let renderer = Renderer::new();
    let mut out = format!(
        "# {} . {} for logical date {} (offline: no XComs, no Variables)\n",
        dag.dag_id,
        task.task_id,
        logical.to_rfc3339()
    );
    let mut fields = Vec::new();
    templated("", &operator, &mut fields);
    if fields.is_empty() {
        out.push_str("# no templated argument\n");
    }
    for (path, template) in fields {
        // The model's nesting, said as Airflow names the argument.
        let path = path
            .trim_start_matches("operator.")
            .replace("command.command", "bash_command");
        let value = renderer
            .render(&template, &ctx)
            .unwrap_or_else(|e| format!("<cannot render: {e}>"));
        out.push_str(&format!("# {path}\n{value}\n"));
    }
    Ok(out)
}

/// Every string holding a template, with its path (`op_kwargs.n`).
fn templated(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            out.push((path.to_string(), s.clone()))
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                templated(&join(&i.to_string()), v, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                templated(&join(k), v, out);
            }
        }
        _ => {}
    }
}
