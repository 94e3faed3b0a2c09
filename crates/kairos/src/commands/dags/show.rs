//! `kairos dags show FILE`: the DAGs of a file, read locally: tasks, edges,
//! schedule and the next data intervals.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use kairos_dag::graph::DagGraph;
use kairos_dag::load::LoadOptions;
use kairos_dag::model::Task;
use kairos_dag::timetable::DagRunInfo;
use kairos_dag::version::VersionContent;
use serde_json::json;

use super::validate::PROBLEMS;
use crate::commands::output::Output;
use crate::table;

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
pub fn show(args: &ShowArgs) -> ExitCode {
    let now = match &args.now {
        None => Utc::now(),
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                eprintln!(
                    "error: --now `{text}` is not an RFC 3339 time ({e}); write e.g. 2024-01-08T00:00:00Z"
                );
                return ExitCode::from(2);
            }
        },
    };
    let file = super::python_files::load_dag_file(
        &args.file,
        &LoadOptions {
            root: super::upload::config_root(),
            ..LoadOptions::default()
        },
    );
    for d in &file.diagnostics {
        eprintln!("{d}");
    }
    if file.has_errors() {
        return ExitCode::from(PROBLEMS);
    }
    let dags: Vec<&VersionContent> = file
        .dags
        .iter()
        .filter(|v| args.dag.as_deref().is_none_or(|id| v.dag.dag_id == id))
        .collect();
    if dags.is_empty() {
        match &args.dag {
            Some(id) => eprintln!("error: {} has no DAG `{id}`", file.path),
            None => eprintln!("error: {} defines no DAGs", file.path),
        }
        return ExitCode::from(PROBLEMS);
    }
    match args.output {
        Output::Json => {
            let out: Vec<serde_json::Value> = dags
                .iter()
                .map(|v| show_json(v, now, args.intervals))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Output::Text => {
            let path = args.file.display().to_string();
            let texts: Vec<String> = dags
                .iter()
                .map(|v| show_text(v, &path, now, args.intervals))
                .collect();
            print!("{}", texts.join("\n"));
        }
    }
    ExitCode::SUCCESS
}

fn upcoming(v: &VersionContent, now: DateTime<Utc>, n: usize) -> Vec<DagRunInfo> {
    let dag = &v.dag;
    dag.schedule
        .upcoming(dag.timezone, &dag.restriction(now), now, n)
}

/// Tasks in dependency order (declaration order among peers).
fn ordered_tasks(v: &VersionContent) -> Vec<&Task> {
    match DagGraph::of(&v.dag)
        .ok()
        .and_then(|g| g.topological_order())
    {
        Some(order) => order.into_iter().map(|i| &v.dag.tasks[i]).collect(),
        None => v.dag.tasks.iter().collect(),
    }
}

fn show_json(v: &VersionContent, now: DateTime<Utc>, n: usize) -> serde_json::Value {
    let intervals: Vec<serde_json::Value> = upcoming(v, now, n)
        .iter()
        .map(|i| {
            json!({
                "logical_date": i.logical_date(),
                "data_interval_start": i.data_interval.start,
                "data_interval_end": i.data_interval.end,
                "run_after": i.run_after,
            })
        })
        .collect();
    let edges: Vec<[&str; 2]> = v
        .dag
        .tasks
        .iter()
        .flat_map(|t| {
            t.upstream
                .iter()
                .map(move |u| [u.as_str(), t.task_id.as_str()])
        })
        .collect();
    json!({
        "dag": v.dag,
        "edges": edges,
        "next_data_intervals": intervals,
        "as_of": now,
        "version_hash": v.content_hash(),
        "files": v.files.keys().collect::<Vec<_>>(),
    })
}

fn show_text(v: &VersionContent, path: &str, now: DateTime<Utc>, n: usize) -> String {
    let d = &v.dag;
    let fmt_time = |t: DateTime<Utc>| {
        t.with_timezone(&d.timezone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let mut out = String::new();
    out.push_str(&format!("DAG {}  ({path})\n", d.dag_id));
    let mut facts: Vec<(&str, String)> = vec![
        ("schedule", d.schedule.describe()),
        ("timezone", d.timezone.to_string()),
        (
            "start_date",
            d.start_date
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "end_date",
            d.end_date
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        ("catchup", d.catchup.to_string()),
        (
            "max_active",
            format!("runs {}, tasks {}", d.max_active_runs, d.max_active_tasks),
        ),
    ];
    if let Some(t) = d.dagrun_timeout {
        facts.push(("dagrun_timeout", t.to_string()));
    }
    if !d.tags.is_empty() {
        facts.push(("tags", d.tags.join(", ")));
    }
    if let Some(desc) = &d.description {
        facts.push(("description", desc.clone()));
    }
    facts.push(("bundle", d.bundle.clone()));
    facts.push((
        "files",
        v.files.keys().cloned().collect::<Vec<_>>().join(", "),
    ));
    facts.push(("version", v.content_hash()));
    for (k, val) in facts {
        out.push_str(&format!("  {k:<14} {val}\n"));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = ordered_tasks(v)
        .into_iter()
        .map(|t| {
            let op = if t.is_mapped() {
                format!("{} (mapped)", t.operator_kind())
            } else {
                t.operator_name()
            };
            vec![
                t.task_id.clone(),
                op,
                if t.upstream.is_empty() {
                    "-".into()
                } else {
                    t.upstream.join(", ")
                },
                t.trigger_rule.to_string(),
                t.retries.to_string(),
                format!("{}/{}", t.pool, t.queue),
            ]
        })
        .collect();
    out.push_str(&indent(&table::render(
        &[
            "TASK",
            "OPERATOR",
            "UPSTREAM",
            "TRIGGER RULE",
            "RETRIES",
            "POOL/QUEUE",
        ],
        &rows,
    )));
    out.push('\n');
    let intervals = upcoming(v, now, n);
    if intervals.is_empty() {
        out.push_str("  No automated runs: this DAG runs when triggered.\n");
    } else {
        out.push_str(&format!(
            "  Next {} data interval(s) for a DAG with no runs yet, as of {}:\n",
            intervals.len(),
            fmt_time(now)
        ));
        let rows: Vec<Vec<String>> = intervals
            .iter()
            .map(|i| {
                vec![
                    fmt_time(i.logical_date()),
                    fmt_time(i.data_interval.end),
                    fmt_time(i.run_after),
                    if i.run_after <= now {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]
            })
            .collect();
        out.push_str(&indent(&table::render(
            &["LOGICAL DATE (START)", "END", "RUNS AFTER", "DUE"],
            &rows,
        )));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
