//! Task logs: proxied from the worker that ran the attempt (live while it runs,
//! from `offset` on), or, when that worker is gone, the last 4 KiB replicated with
//! the attempt's final report. The `x-kairos-log-source` header says which.
//! Plain text by default; Airflow's JSON (`content`, `continuation_token`) for
//! a client that prefers `application/json`.

use super::extract::{Path, Query as UrlQuery};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kairos_api::logs::{
    LOG_FROM_REPLICATED_TAIL, LOG_FROM_SERVERS, LOG_FROM_WORKER, LOG_NEXT_HEADER, LOG_SIZE_HEADER,
    LOG_SOURCE_HEADER,
};
use kairos_api::{LogContent, LogQuery};
use kairos_state::TaskInstanceKey;
use kairos_state::records::TryRecord;

use super::Api;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

/// Whether the client prefers JSON to text: `application/json` is accepted
/// and comes before `text/plain` (or `text/plain` is not named), as Airflow's
/// own clients ask.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |kind: &str| {
        accept
            .split(',')
            .position(|part| part.split(';').next().unwrap_or("").trim() == kind)
    };
    match (position("application/json"), position("text/plain")) {
        (Some(json), Some(text)) => json < text,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The answer: text with Kairos's headers, or Airflow's JSON (read from
/// `offset`; its token is where the worker said to read on, else the end of
/// this text).
fn text(
    json: Option<u64>,
    body: String,
    source: &'static str,
    size: Option<String>,
    next: Option<String>,
) -> Response {
    let mut response = if let Some(offset) = json {
        let token = next
            .clone()
            .unwrap_or_else(|| (offset + body.len() as u64).to_string());
        axum::Json(LogContent {
            content: body,
            continuation_token: token,
        })
        .into_response()
    } else {
        let mut response = (StatusCode::OK, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    let h = response.headers_mut();
    h.insert(LOG_SOURCE_HEADER, HeaderValue::from_static(source));
    if let Some(size) = size.and_then(|s| HeaderValue::from_str(&s).ok()) {
        h.insert(LOG_SIZE_HEADER, size);
    }
    if let Some(next) = next.and_then(|s| HeaderValue::from_str(&s).ok()) {
        h.insert(LOG_NEXT_HEADER, next);
    }
    response
}

/// The log as the servers keep it: this node's copy, else the first other
/// member's that has it whole (else the longest part any has).
async fn from_servers(
    api: &Api,
    ti: &TaskInstanceKey,
    try_number: u32,
    offset: u64,
) -> Option<crate::attempt_logs::LogRead> {
    let logs = api.node.attempt_logs().clone();
    let (key, max) = (ti.clone(), crate::attempt_logs::MAX_READ_BYTES);
    let local = tokio::task::spawn_blocking(move || logs.read(&key, try_number, offset, max))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    if local.as_ref().is_some_and(|l| l.complete) {
        return local;
    }
    let mut best = local;
    let me = api.node.id();
    for member in api
        .node
        .status()
        .members
        .into_iter()
        .filter(|m| m.node_id != me)
    {
        let request = kairos_proto::v1::ReadLogRequest {
            key: Some(crate::grpc::log_key_of(ti, try_number)),
            offset,
            max_bytes: max,
        };
        let Ok(reply) = api
            .node
            .forwarder()
            .read_log(&member.grpc_addr, request)
            .await
        else {
            continue;
        };
        if !reply.found {
            continue;
        }
        let read = crate::attempt_logs::LogRead {
            data: reply.data,
            size: reply.size,
            complete: reply.complete,
        };
        if read.complete {
            return Some(read);
        }
        if best.as_ref().is_none_or(|b| b.size < read.size) {
            best = Some(read);
        }
    }
    best
}

/// The answer for a log the servers keep.
fn servers_text(json: Option<u64>, offset: u64, kept: crate::attempt_logs::LogRead) -> Response {
    let next = offset + kept.data.len() as u64;
    text(
        json,
        String::from_utf8_lossy(&kept.data).into_owned(),
        LOG_FROM_SERVERS,
        Some(kept.size.to_string()),
        Some(next.to_string()),
    )
}

/// Asks the worker at `base` for the log; why not, when it does not answer.
async fn from_worker(
    base: &str,
    ti: &TaskInstanceKey,
    try_number: u32,
    offset: u64,
    tls: Option<&kairos_tls::Tls>,
) -> Result<(String, Option<String>, Option<String>), String> {
    let mut url =
        reqwest::Url::parse(base).map_err(|e| format!("its log URL {base:?} is not a URL: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| format!("its log URL {base:?} cannot take a path"))?
        .extend([
            "logs",
            &ti.dag_id,
            &ti.run_id,
            &ti.task_id,
            &try_number.to_string(),
        ]);
    url.query_pairs_mut()
        .append_pair("map_index", &ti.map_index.to_string())
        .append_pair("offset", &offset.to_string());
    // No redirects: the URL came from a worker, and must not lead elsewhere.
    let mut client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(tls) = tls {
        // Over TLS the worker must prove it is a worker of this cluster, and
        // this server presents its own certificate.
        if url.scheme() != "https" {
            return Err(format!(
                "its log URL {base:?} is not https:// (a worker of a TLS cluster serves HTTPS)"
            ));
        }
        client = client.use_preconfigured_tls(crate::tls::to_workers(tls));
    }
    let response = client
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{base} did not answer: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{base} answered {}", response.status()));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (size, next) = (header(LOG_SIZE_HEADER), header(LOG_NEXT_HEADER));
    // At most what a worker sends in one answer (8 MiB) and a little more.
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{base} broke off its answer: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > 9 * 1024 * 1024 {
            return Err(format!("{base} sent more than 9 MiB in one answer"));
        }
    }
    Ok((String::from_utf8_lossy(&body).into_owned(), size, next))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
        ("try_number" = u32, Path), LogQuery),
    responses((status = 200, description = "the log as text, or as Airflow's JSON when the client prefers application/json",
            content((String = "text/plain"), (LogContent = "application/json"))),
        (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_log(
    State(api): State<Api>,
    scope: Scope,
    headers: HeaderMap,
    Path((dag_id, run_id, task_id, try_number)): Path<(String, String, String, u32)>,
    UrlQuery(q): UrlQuery<LogQuery>,
) -> Result<Response, Problem> {
    scope.require(Role::Viewer)?;
    let offset = match q.token.as_deref().filter(|t| !t.is_empty()) {
        None => q.offset,
        Some(token) => token.parse::<u64>().map_err(|_| {
            Problem::bad_request(format!(
                "token {token:?} is not a continuation token of this API (a byte offset, as an \
                 earlier answer's continuation_token gave it)"
            ))
        })?,
    };
    let json = wants_json(&headers).then_some(offset);
    api.check_dag(&scope, &dag_id, false).await?;
    let key = TaskInstanceKey {
        dag_id: dag_id.clone(),
        run_id: run_id.clone(),
        task_id: task_id.clone(),
        map_index: q.map_index.unwrap_or(-1),
    };
    let ti = super::task_instances::load_ti(&api, &key, false).await?;
    let asked = key.clone();
    let tries: Vec<TryRecord> = api.read(false, move |s| s.tries(&asked)).await?;
    let ended = tries.iter().find(|t| t.try_number == try_number);
    if try_number == 0 || try_number > ti.try_number {
        return Err(Problem::not_found(format!(
            "`{task_id}` has had {} tries; there is no try {try_number}",
            ti.try_number
        )));
    }
    let (worker, log_url) = if try_number == ti.try_number {
        (ti.worker.clone(), ti.log_url.clone())
    } else {
        (
            ended.and_then(|t| t.worker.clone()),
            ended.and_then(|t| t.log_url.clone()),
        )
    };
    // A finished try's log as the servers keep it (this node's copy, else
    // another's): whole, with no need of the worker.
    let finished_try = ended.is_some() || (try_number == ti.try_number && ti.state.is_finished());
    let mut partial = None;
    if finished_try {
        if let Some(kept) = from_servers(&api, &key, try_number, offset).await {
            if kept.complete {
                return Ok(servers_text(json, offset, kept));
            }
            partial = Some(kept);
        }
    }
    let mut unreachable = None;
    if let Some(base) = &log_url {
        match from_worker(base, &key, try_number, offset, api.node.tls()).await {
            Ok((body, size, next)) => return Ok(text(json, body, LOG_FROM_WORKER, size, next)),
            Err(why) => unreachable = Some(why),
        }
    }
    // The worker is gone: what the servers have of it, else the tail
    // replicated with the last finished attempt.
    if let Some(kept) = partial {
        return Ok(servers_text(json, offset, kept));
    }
    let latest_finished = try_number == ti.try_number && ti.state.is_finished();
    if let (true, Some(tail)) = (latest_finished, ti.log_tail.clone()) {
        return Ok(text(json, tail, LOG_FROM_REPLICATED_TAIL, None, None));
    }
    Err(Problem::not_found(format!(
        "the log of try {try_number} is on worker {}, which does not answer ({}){}",
        worker.as_deref().unwrap_or("(none)"),
        unreachable.as_deref().unwrap_or("it serves no logs"),
        if latest_finished {
            ", and no tail was replicated"
        } else {
            "; only the last finished try's tail is replicated"
        }
    )))
}
