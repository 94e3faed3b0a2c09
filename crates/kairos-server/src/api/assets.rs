//! `/datasets`: assets and their events, in Airflow 2's REST API v1 shapes
//! (Airflow 3 calls datasets assets). An asset is known by its URI once a DAG
//! names it; `POST /datasets/events` records an update that no task made, and
//! DAGs scheduled on the asset run as they would after a producer's success.
//! Assets are shared by URI across teams (a producer of one team may trigger a
//! consumer of another), so every caller sees every asset; which DAGs consume
//! or produce one is shown only where the caller sees the DAG.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{
    Asset, AssetEvent, AssetEventList, AssetEventQuery, AssetList, ConsumingDag, CreateAssetEvent,
    Page, ProducingTask, ReadOptions,
};
use kairos_state::records::{AssetEventRecord, AssetRecord};
use kairos_state::{Command, Outcome, Store, StoreError};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;
use super::runs::load_run;
use super::scope::Scope;

/// What the asset list shows of each asset, read in one pass.
#[derive(Clone)]
struct AssetRow {
    record: AssetRecord,
    /// (dag id, team, updated) of the DAGs scheduled on it.
    consumers: Vec<(String, Option<String>, chrono::DateTime<chrono::Utc>)>,
    /// (dag id, task id, team, updated) of the tasks that update it.
    producers: Vec<(
        String,
        String,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
    )>,
    updated: chrono::DateTime<chrono::Utc>,
}

/// Every asset with its consumers and producers (the DAGs' newest versions
/// are read once per request: a cost of the number of DAGs).
fn rows(s: &Store) -> Result<Vec<AssetRow>, StoreError> {
    let assets = s.assets(None, Some(usize::MAX))?;
    let dags = s.dags(None, Some(usize::MAX), &Default::default())?;
    let mut producers = Vec::new();
    for dag in &dags {
        if let Some(v) = s.version_record(&dag.dag_id, dag.latest_version)? {
            for task in &v.content.dag.tasks {
                for uri in task.outlets.iter().filter_map(|o| o.uri()) {
                    producers.push((
                        uri.to_string(),
                        dag.dag_id.clone(),
                        task.task_id.clone(),
                        dag.team.clone(),
                        dag.updated_at,
                    ));
                }
            }
        }
    }
    let mut out = Vec::new();
    for record in assets {
        let mut consumers = Vec::new();
        for dag_id in s.asset_consumers(&record.uri)? {
            if let Some(d) = dags.iter().find(|d| d.dag_id == dag_id) {
                consumers.push((dag_id, d.team.clone(), d.updated_at));
            }
        }
        let updated = s
            .asset_events(Some(&record.uri), Some(1))?
            .first()
            .map_or(record.created_at, |e| e.timestamp);
        out.push(AssetRow {
            producers: producers
                .iter()
                .filter(|p| p.0 == record.uri)
                .map(|p| (p.1.clone(), p.2.clone(), p.3.clone(), p.4))
                .collect(),
            consumers,
            record,
            updated,
        });
    }
    Ok(out)
}

fn view(id: u64, row: AssetRow, scope: &Scope) -> Asset {
    Asset {
        id,
        uri: row.record.uri,
        name: row.record.name,
        extra: serde_json::json!({}),
        created_at: row.record.created_at,
        updated_at: row.updated,
        consuming_dags: row
            .consumers
            .into_iter()
            .filter(|c| scope.sees(c.1.as_deref()))
            .map(|(dag_id, _, at)| ConsumingDag {
                dag_id,
                created_at: at,
                updated_at: at,
            })
            .collect(),
        producing_tasks: row
            .producers
            .into_iter()
            .filter(|p| scope.sees(p.2.as_deref()))
            .map(|(dag_id, task_id, _, at)| ProducingTask {
                dag_id,
                task_id,
                created_at: at,
                updated_at: at,
            })
            .collect(),
    }
}

/// An event; where it came from is shown to every caller, as the asset is.
fn event_view(e: AssetEventRecord, dataset_id: u64) -> AssetEvent {
    let source = e.source;
    AssetEvent {
        event_id: e.id,
        dataset_id,
        dataset_uri: e.uri,
        extra: if e.extra.is_null() {
            serde_json::json!({})
        } else {
            e.extra
        },
        source_dag_id: source.as_ref().map(|s| s.dag_id.clone()),
        source_task_id: source.as_ref().map(|s| s.task_id.clone()),
        source_run_id: source.as_ref().map(|s| s.run_id.clone()),
        source_map_index: source.as_ref().map_or(-1, |s| s.map_index),
        created_dagruns: Vec::new(),
        timestamp: e.timestamp,
    }
}

#[utoipa::path(get, path = "/datasets", params(Page),
    responses((status = 200, body = AssetList), (status = 401, body = Problem)))]
pub async fn list_assets(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<AssetList>, Problem> {
    scope.require(Role::Viewer)?;
    let all = api.read(page.consistent, rows).await?;
    let total = all.len() as u64;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let offset = page.offset.unwrap_or(0);
    Ok(Json(AssetList {
        datasets: all
            .into_iter()
            .enumerate()
            .skip(offset)
            .take(limit)
            .map(|(i, row)| view(i as u64 + 1, row, &scope))
            .collect(),
        total_entries: total,
    }))
}

#[utoipa::path(get, path = "/datasets/{uri}", params(("uri" = String, Path), ReadOptions),
    responses((status = 200, body = Asset), (status = 404, body = Problem)))]
pub async fn get_asset(
    State(api): State<Api>,
    scope: Scope,
    Path(uri): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Asset>, Problem> {
    scope.require(Role::Viewer)?;
    let all = api.read(read.consistent, rows).await?;
    all.into_iter()
        .enumerate()
        .find(|(_, r)| r.record.uri == uri)
        .map(|(i, row)| Json(view(i as u64 + 1, row, &scope)))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no asset `{uri}`: an asset exists once a DAG names it (outlets, inlets or schedule)"
            ))
        })
}

/// The id Airflow's clients see for an asset: its place in URI order.
async fn asset_ids(api: &Api) -> Result<Vec<String>, Problem> {
    api.read(false, |s| {
        Ok(s.assets(None, Some(usize::MAX))?
            .into_iter()
            .map(|a| a.uri)
            .collect())
    })
    .await
}

fn id_of(ids: &[String], uri: &str) -> u64 {
    ids.iter()
        .position(|u| u == uri)
        .map_or(0, |i| i as u64 + 1)
}

#[utoipa::path(get, path = "/datasets/events", params(AssetEventQuery),
    responses((status = 200, body = AssetEventList), (status = 401, body = Problem)))]
pub async fn list_asset_events(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(q): UrlQuery<AssetEventQuery>,
) -> Result<Json<AssetEventList>, Problem> {
    scope.require(Role::Viewer)?;
    let ids = asset_ids(&api).await?;
    // Airflow's clients name an asset by its id: its place in URI order.
    let by_id = match q.dataset_id {
        Some(id) => Some(
            ids.get((id as usize).wrapping_sub(1))
                .cloned()
                .ok_or_else(|| Problem::not_found(format!("no dataset {id}")))?,
        ),
        None => None,
    };
    let uri = q.dataset_uri.clone().or(by_id);
    let mut events = api
        .read(true, move |s| s.asset_events(uri.as_deref(), None))
        .await?;
    if let Some(dag) = &q.source_dag_id {
        events.retain(|e| e.source.as_ref().is_some_and(|s| &s.dag_id == dag));
    }
    let total = events.len() as u64;
    // Newest first, as Airflow's default order of the UI; `offset` then `limit`.
    events.reverse();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    Ok(Json(AssetEventList {
        dataset_events: events
            .into_iter()
            .skip(q.offset.unwrap_or(0) as usize)
            .take(limit)
            .map(|e| {
                let id = id_of(&ids, &e.uri);
                event_view(e, id)
            })
            .collect(),
        total_entries: total,
    }))
}

#[utoipa::path(post, path = "/datasets/events", request_body = CreateAssetEvent,
    responses((status = 200, body = AssetEvent), (status = 404, body = Problem), (status = 403, body = Problem)))]
pub async fn create_asset_event(
    State(api): State<Api>,
    scope: Scope,
    Body(req): Body<CreateAssetEvent>,
) -> Result<Json<AssetEvent>, Problem> {
    scope.require(Role::Operator)?;
    let outcome = api
        .write(Command::CreateAssetEvent {
            uri: req.dataset_uri.clone(),
            extra: req.extra.unwrap_or(serde_json::Value::Null),
        })
        .await?;
    let Outcome::AssetEvent { event } = outcome else {
        return Err(Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the cluster answered an asset event with something else",
        ));
    };
    let ids = asset_ids(&api).await?;
    let id = id_of(&ids, &event.uri);
    Ok(Json(event_view(event, id)))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamDatasetEvents",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ReadOptions),
    responses((status = 200, body = AssetEventList), (status = 404, body = Problem)))]
pub async fn upstream_asset_events(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<AssetEventList>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, read.consistent).await?;
    let run = load_run(&api, &dag_id, &run_id, read.consistent).await?;
    let ids = asset_ids(&api).await?;
    let events: Vec<AssetEvent> = run
        .triggering_asset_events
        .into_iter()
        .map(|e| {
            let id = id_of(&ids, &e.uri);
            event_view(e, id)
        })
        .collect();
    Ok(Json(AssetEventList {
        total_entries: events.len() as u64,
        dataset_events: events,
    }))
}
