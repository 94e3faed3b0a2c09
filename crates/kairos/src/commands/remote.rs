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
    DagArgs, DiffArgs, ListArgs, Output, PushArgs, Remote, RunsArgs, RunsCommand, TasksArgs,
    TasksCommand, TriggerArgs,
};
use crate::table;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub(crate) struct Api {
    /// The node's HTTP root (for `/health`).
    root: String,
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    fn new(remote: &Remote) -> Result<Api, String> {
        Api::to(&remote.server, remote.token.clone())
    }

    /// A client of the API at `server` (`HOST:PORT` or a URL).
    pub(crate) fn to(server: &str, token: Option<String>) -> Result<Api, String> {
        let server = server.trim().trim_end_matches('/');
        let base = if server.starts_with("http://") || server.starts_with("https://") {
            format!("{server}/api/v1")
        } else {
            format!("http://{server}/api/v1")
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let root = base.trim_end_matches("/api/v1").to_string();
        Ok(Api {
            root,
            base,
            token,
            http,
        })
    }

    /// Every item of a paged list (`items` in each page), following `next`.
    pub(crate) async fn all_pages(&self, path: &str, items: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut page_path = format!("{path}?limit=1000");
            if let Some(a) = &after {
                page_path.push_str(&format!("&after={}", urlencode(a)));
            }
            let page = self.json(reqwest::Method::GET, &page_path, None).await?;
            out.extend(page[items].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// The node's `/health`.
    pub(crate) async fn health(&self) -> Result<Value, String> {
        let response = self
            .http
            .get(format!("{}/health", self.root))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = response.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// One call; a problem answer becomes its detail.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(reqwest::header::HeaderMap, String), String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{} did not answer: {e}", self.base))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(format!("{} ({})", detail, status.as_u16()));
        }
        Ok((headers, text))
    }

    pub(crate) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (_, text) = self.call(method, path, body).await?;
        serde_json::from_str(&text)
            .map_err(|e| format!("the API answered something else than JSON: {e}"))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Runs `f` with an API client, printing its error.
fn with_api<F, Fut>(remote: &Remote, f: F) -> ExitCode
where
    F: FnOnce(Api) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let (api, rt) = match (Api::new(remote), runtime()) {
        (Ok(api), Ok(rt)) => (api, rt),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    match rt.block_on(f(api)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

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
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        return Err(errors.join("\n"));
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
            "/dags/push",
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

/// Percent-encodes a path or query component.
pub(crate) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn trigger(args: &TriggerArgs) -> ExitCode {
    let conf: Value = match &args.conf {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) if v.is_object() => v,
            _ => {
                return fail(format!(
                    "--conf {text:?} is not a JSON object, e.g. '{{\"date\": \"2026-01-01\"}}'"
                ));
            }
        },
        None => json!({}),
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
    }
}

pub fn versions(args: &DagArgs) -> ExitCode {
    let (dag_id, output) = (args.dag_id.clone(), args.remote.output);
    with_api(&args.remote, |api| async move {
        let answer = api
            .json(
                reqwest::Method::GET,
                &format!("/dags/{}/versions", urlencode(&dag_id)),
                None,
            )
            .await?;
        if output == Output::Json {
            println!("{}", answer["versions"]);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = answer["versions"]
            .as_array()
            .into_iter()
            .flatten()
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
                let answer = api.json(reqwest::Method::GET, &path, None).await?;
                let tis = answer["task_instances"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
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
