//! The commands that talk to a cluster's REST API: `dags push|list|trigger|pause|
//! unpause` and `tasks states|logs`. Any node answers; writes are forwarded to the
//! leader by the node. Tables for people, `--output json` for scripts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kairos_dag::load::{LoadOptions, load_file};
use serde_json::{Value, json};

use crate::cli::{
    DagArgs, DiffArgs, ListArgs, Output, PushArgs, RunsArgs, RunsCommand, TasksArgs, TasksCommand,
    TriggerArgs,
};
use crate::table;

use super::api_client::{Api, fail, urlencode, with_api};

/// `*.yml` / `*.yaml` files of the paths (folders searched, sorted).
pub(crate) fn dag_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

/// One DAG file read and validated locally, ready to upload.
pub(crate) struct Upload {
    pub path: PathBuf,
    file_name: String,
    content: String,
    files: BTreeMap<String, String>,
}

/// Reads and validates a DAG file, gathering the files it references; the
/// problems, one per line, when it is not valid.
pub(crate) fn prepare(path: &std::path::Path, opts: &LoadOptions) -> Result<Upload, String> {
    let loaded = load_file(path, opts);
    if loaded.has_errors() {
        return Err(loaded.error_messages().join("\n"));
    }
    let mut files = BTreeMap::new();
    for version in &loaded.dags {
        for key in version.files.keys() {
            if let Some(text) = loaded.file(version, key) {
                files.insert(key.clone(), text.to_string());
            }
        }
    }
    let content = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Upload {
        path: path.to_path_buf(),
        file_name,
        content,
        files,
    })
}

impl Api {
    /// Uploads one prepared file; the server's answer.
    pub(crate) async fn push(
        &self,
        upload: &Upload,
        bundle: Option<&str>,
    ) -> Result<Value, String> {
        self.json(
            reqwest::Method::POST,
            "/dagFiles",
            Some(json!({
                "file_name": upload.file_name,
                "content": upload.content,
                "files": upload.files,
                "bundle": bundle,
            })),
        )
        .await
        .map_err(|e| format!("{}: {e}", upload.path.display()))
    }
}

/// `dag: new version V` lines for a push answer.
pub(crate) fn describe_push(answer: &Value) -> Vec<String> {
    answer["dags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|dag| {
            let created = dag["created"].as_bool().unwrap_or(false);
            format!(
                "{}: {} version {}",
                dag["dag_id"].as_str().unwrap_or("?"),
                if created { "new" } else { "unchanged, still" },
                dag["version"]
            )
        })
        .collect()
}

pub fn push(args: &PushArgs) -> ExitCode {
    let opts = LoadOptions {
        bundle: args
            .bundle
            .clone()
            .unwrap_or_else(|| kairos_dag::model::defaults::BUNDLE.to_string()),
        team: None,
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
    with_api(&args.remote, |api| async move {
        let mut all = Vec::new();
        for (n, upload) in uploads.iter().enumerate() {
            let answer = api.push(upload, bundle.as_deref()).await?;
            if output == Output::Text {
                for line in describe_push(&answer) {
                    println!("[{}/{}] {line}", n + 1, uploads.len());
                }
            }
            all.push(answer);
        }
        if output == Output::Json {
            println!("{}", Value::Array(all));
        }
        Ok(())
    })
}

pub fn list(args: &ListArgs) -> ExitCode {
    let output = args.remote.output;
    with_api(&args.remote, |api| async move {
        let dags = api.all_pages("/dags", "dags").await?;
        if output == Output::Json {
            println!("{}", Value::Array(dags));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = dags
            .iter()
            .map(|d| {
                vec![
                    d["dag_id"].as_str().unwrap_or("").to_string(),
                    d["bundle"].as_str().unwrap_or("").to_string(),
                    d["is_paused"].to_string(),
                    d["latest_version"].to_string(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["DAG", "BUNDLE", "PAUSED", "VERSION"], &rows)
        );
        Ok(())
    })
}

pub fn trigger(args: &TriggerArgs) -> ExitCode {
    let conf = match super::args::parse_conf(args.conf.as_deref()) {
        Ok(conf) => conf,
        Err(e) => return fail(e),
    };
    let mut body = json!({"conf": conf});
    if let Some(d) = &args.logical_date {
        body["logical_date"] = json!(d);
    }
    if let Some(r) = &args.run_id {
        body["dag_run_id"] = json!(r);
    }
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let run = api
            .json(
                reqwest::Method::POST,
                &format!("/dags/{}/dagRuns", urlencode(&dag_id)),
                Some(body),
            )
            .await?;
        match output {
            Output::Json => println!("{run}"),
            Output::Text => println!(
                "triggered {} run {} (version {}, {})",
                dag_id,
                run["dag_run_id"].as_str().unwrap_or("?"),
                run["version"],
                run["state"].as_str().unwrap_or("?")
            ),
        }
        Ok(())
    })
}

pub fn pause(args: &DagArgs, paused: bool) -> ExitCode {
    let dag_id = args.dag_id.clone();
    with_api(&args.remote, |api| async move {
        api.json(
            reqwest::Method::PATCH,
            &format!("/dags/{}", urlencode(&dag_id)),
            Some(json!({"is_paused": paused})),
        )
        .await?;
        println!("{dag_id} is {}", if paused { "paused" } else { "unpaused" });
        Ok(())
    })
}

pub fn runs(args: &RunsArgs) -> ExitCode {
    match &args.command {
        RunsCommand::List { dag_id, remote } => {
            let (dag_id, output) = (dag_id.clone(), remote.output);
            with_api(remote, |api| async move {
                let runs = api
                    .all_pages(&format!("/dags/{}/dagRuns", urlencode(&dag_id)), "dag_runs")
                    .await?;
                if output == Output::Json {
                    println!("{}", Value::Array(runs));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r["dag_run_id"].as_str().unwrap_or("").to_string(),
                            r["run_type"].as_str().unwrap_or("").to_string(),
                            r["state"].as_str().unwrap_or("").to_string(),
                            r["version"].to_string(),
                            r["logical_date"].as_str().unwrap_or("-").to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(&["RUN", "TYPE", "STATE", "VERSION", "LOGICAL DATE"], &rows)
                );
                Ok(())
            })
        }
        RunsCommand::Show {
            dag_id,
            run_id,
            remote,
        } => {
            let path = format!("/dags/{}/dagRuns/{}", urlencode(dag_id), urlencode(run_id));
            let output = remote.output;
            with_api(remote, |api| async move {
                let run = api.json(reqwest::Method::GET, &path, None).await?;
                if output == Output::Json {
                    println!("{run}");
                    return Ok(());
                }
                for key in [
                    "dag_id",
                    "dag_run_id",
                    "run_type",
                    "state",
                    "version",
                    "logical_date",
                    "data_interval_start",
                    "data_interval_end",
                    "start_date",
                    "end_date",
                    "triggered_by",
                    "conf",
                ] {
                    let value = match &run[key] {
                        Value::String(s) => s.clone(),
                        Value::Null => "-".to_string(),
                        other => other.to_string(),
                    };
                    println!("{key:<20} {value}");
                }
                Ok(())
            })
        }
        RunsCommand::Mark {
            dag_id,
            run_id,
            state,
            remote,
        } => super::run_edit::mark(dag_id, run_id, state, remote),
        RunsCommand::Delete {
            dag_id,
            run_id,
            remote,
        } => super::run_edit::delete(dag_id, run_id, remote),
    }
}

pub fn versions(args: &DagArgs) -> ExitCode {
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let versions = api
            .all_pages(
                &format!("/dags/{}/versions", urlencode(&dag_id)),
                "versions",
            )
            .await?;
        if output == Output::Json {
            println!("{}", Value::Array(versions));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = versions
            .iter()
            .map(|v| {
                vec![
                    v["version"].to_string(),
                    v["created_at"].as_str().unwrap_or("").to_string(),
                    v["tasks"].to_string(),
                    v["hash"].as_str().unwrap_or("").chars().take(19).collect(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["VERSION", "CREATED", "TASKS", "HASH"], &rows)
        );
        Ok(())
    })
}

pub fn diff(args: &DiffArgs) -> ExitCode {
    let (dag_id, from, to, output) = (args.dag_id.clone(), args.from, args.to, args.remote.output);
    with_api(&args.remote, |api| async move {
        let path = format!("/dags/{}/versions/{from}/diff/{to}", urlencode(&dag_id));
        let answer = api.json(reqwest::Method::GET, &path, None).await?;
        let c = &answer["changes"];
        if output == Output::Json {
            println!("{c}");
            return Ok(());
        }
        let list = |key: &str| -> Vec<String> {
            c[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        println!("{dag_id}: version {from} -> {to}");
        for t in list("tasks_added") {
            println!("  + task {t}");
        }
        for t in list("tasks_removed") {
            println!("  - task {t}");
        }
        for t in c["tasks_changed"].as_array().into_iter().flatten() {
            println!(
                "  ~ task {}: {}",
                t["task_id"].as_str().unwrap_or("?"),
                t["fields"]
            );
        }
        for f in list("dag_fields_changed") {
            println!("  ~ dag {f}");
        }
        for (key, mark) in [
            ("files_added", "+"),
            ("files_removed", "-"),
            ("files_changed", "~"),
        ] {
            for f in list(key) {
                println!("  {mark} file {f}");
            }
        }
        Ok(())
    })
}

pub fn tasks(args: &TasksArgs) -> ExitCode {
    match &args.command {
        TasksCommand::List {
            dag_id,
            version,
            remote,
        } => super::run_edit::list_tasks(dag_id, *version, remote),
        TasksCommand::Clear {
            dag_id,
            run_id,
            task_ids,
            downstream,
            upstream,
            only_failed,
            dry_run,
            remote,
        } => {
            let body = json!({
                "dag_run_id": run_id, "task_ids": task_ids, "include_downstream": downstream,
                "include_upstream": upstream, "only_failed": only_failed, "dry_run": dry_run,
            });
            let path = format!("/dags/{}/clearTaskInstances", urlencode(dag_id));
            let dry = *dry_run;
            with_api(remote, |api| async move {
                let answer = api.json(reqwest::Method::POST, &path, Some(body)).await?;
                let ids: Vec<&str> = answer["task_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                if dry {
                    println!("would clear: {}", ids.join(", "));
                } else {
                    println!(
                        "cleared {} task instance(s): {}",
                        answer["cleared"],
                        ids.join(", ")
                    );
                }
                Ok(())
            })
        }
        TasksCommand::Mark {
            dag_id,
            run_id,
            task_id,
            state,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances/{}",
                urlencode(dag_id),
                urlencode(run_id),
                urlencode(task_id)
            );
            let body = json!({"new_state": state});
            with_api(remote, |api| async move {
                let ti = api.json(reqwest::Method::PATCH, &path, Some(body)).await?;
                println!(
                    "{} is {}",
                    ti["task_id"].as_str().unwrap_or("?"),
                    ti["state"].as_str().unwrap_or("?")
                );
                Ok(())
            })
        }
        TasksCommand::Explain {
            dag_id,
            run_id,
            task_id,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances/{}/explain",
                urlencode(dag_id),
                urlencode(run_id),
                urlencode(task_id)
            );
            let output = remote.output;
            with_api(remote, |api| async move {
                let answer = api.json(reqwest::Method::GET, &path, None).await?;
                if output == Output::Json {
                    println!("{answer}");
                    return Ok(());
                }
                println!("state: {}", answer["state"].as_str().unwrap_or("unknown"));
                let reasons = answer["reasons"].as_array().cloned().unwrap_or_default();
                if reasons.is_empty() {
                    println!("nothing holds it back");
                }
                for r in reasons {
                    println!("- {}", r.as_str().unwrap_or(""));
                }
                Ok(())
            })
        }
        TasksCommand::States {
            dag_id,
            run_id,
            remote,
        } => {
            let path = format!(
                "/dags/{}/dagRuns/{}/taskInstances?consistent=true",
                urlencode(dag_id),
                urlencode(run_id)
            );
            let output = remote.output;
            with_api(remote, |api| async move {
                let tis = api.all_pages(&path, "task_instances").await?;
                if output == Output::Json {
                    println!("{}", Value::Array(tis));
                    return Ok(());
                }
                let rows: Vec<Vec<String>> = tis
                    .iter()
                    .map(|t| {
                        let map = t["map_index"].as_i64().unwrap_or(-1);
                        vec![
                            t["task_id"].as_str().unwrap_or("").to_string(),
                            if map < 0 {
                                String::new()
                            } else {
                                map.to_string()
                            },
                            t["state"].as_str().unwrap_or("").to_string(),
                            t["try_number"].to_string(),
                            t["hostname"].as_str().unwrap_or("").to_string(),
                            t["note"].as_str().unwrap_or("").to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table::render(&["TASK", "MAP", "STATE", "TRY", "WORKER", "NOTE"], &rows)
                );
                Ok(())
            })
        }
        TasksCommand::Logs {
            dag_id,
            run_id,
            task_id,
            try_number,
            map_index,
            follow,
            remote,
        } => {
            let ti_path = format!(
                "/dags/{}/dagRuns/{}/taskInstances/{}",
                urlencode(dag_id),
                urlencode(run_id),
                urlencode(task_id)
            );
            let (try_number, map_index, follow) = (*try_number, *map_index, *follow);
            with_api(remote, |api| async move {
                let ti_url = format!("{ti_path}?map_index={map_index}&consistent=true");
                let ti = api.json(reqwest::Method::GET, &ti_url, None).await?;
                let try_number = match try_number {
                    Some(t) => t,
                    None => ti["try_number"].as_u64().unwrap_or(0) as u32,
                };
                if try_number == 0 {
                    return Err(format!("{task_id} has not run yet (state {})", ti["state"]));
                }
                let mut offset = 0u64;
                loop {
                    let url = format!(
                        "{ti_path}/logs/{try_number}?map_index={map_index}&offset={offset}"
                    );
                    let (headers, text) = api.call(reqwest::Method::GET, &url, None).await?;
                    print!("{text}");
                    let from_tail = headers
                        .get("x-kairos-log-source")
                        .and_then(|v| v.to_str().ok())
                        == Some("replicated-tail");
                    offset = headers
                        .get("x-kairos-log-next")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(offset + text.len() as u64);
                    if !follow || from_tail {
                        return Ok(());
                    }
                    let ti = api.json(reqwest::Method::GET, &ti_url, None).await?;
                    let finished = matches!(
                        ti["state"].as_str(),
                        Some(
                            "success"
                                | "failed"
                                | "skipped"
                                | "upstream_failed"
                                | "up_for_retry"
                                | "removed"
                        )
                    );
                    let current = ti["try_number"].as_u64().unwrap_or(0);
                    // The followed try is over: it finished, or a later try began.
                    if (finished && current == u64::from(try_number))
                        || current > u64::from(try_number)
                    {
                        // One last read for whatever came after the previous one.
                        let url = format!(
                            "{ti_path}/logs/{try_number}?map_index={map_index}&offset={offset}"
                        );
                        if let Ok((_, rest)) = api.call(reqwest::Method::GET, &url, None).await {
                            print!("{rest}");
                        }
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            })
        }
    }
}
