//! `GET /dagStats?dag_ids=`: Airflow's count of each DAG's runs by state.
//! Every run of each DAG named is read to be counted; DAGs outside the
//! caller's scope, or unknown, are left out (as Airflow leaves out DAGs its
//! caller may not read).

use std::collections::BTreeMap;

use super::extract::Query as UrlQuery;
use axum::Json;
use axum::extract::State;
use kairos_api::{DagIds, DagStats, DagStatsItem, ReadOptions, StateCount};
use kairos_dag::lifecycle::DagRunState;
use kairos_state::records::DagRecord;

use super::Api;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

/// At most this many DAGs are counted by one request.
const MAX_DAGS: usize = 100;

/// Runs read at a time.
const CHUNK: usize = 1000;

#[utoipa::path(get, path = "/dagStats", params(DagIds, ReadOptions), responses(
    (status = 200, body = DagStats), (status = 400, body = Problem)))]
pub async fn dag_stats(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(ids): UrlQuery<DagIds>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<DagStats>, Problem> {
    scope.require(Role::Viewer)?;
    let mut wanted: Vec<String> = ids
        .dag_ids
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(Problem::bad_request(
            "dag_ids is needed: the DAGs to count, comma separated",
        ));
    }
    if wanted.len() > MAX_DAGS {
        return Err(Problem::bad_request(format!(
            "{} DAGs asked for; one request counts at most {MAX_DAGS}",
            wanted.len()
        )));
    }
    let team = scope.clone();
    let dags = api
        .read(read.consistent, move |s| {
            let mut out = Vec::new();
            for dag_id in &wanted {
                let Some(dag): Option<DagRecord> = s.dag(dag_id)? else {
                    continue;
                };
                if !team.sees(dag.team.as_deref()) {
                    continue;
                }
                let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
                for state in [
                    DagRunState::Queued,
                    DagRunState::Running,
                    DagRunState::Success,
                    DagRunState::Failed,
                ] {
                    counts.insert(state.as_str(), 0);
                }
                let mut after: Option<String> = None;
                loop {
                    let chunk = s.runs(dag_id, None, after.as_deref(), Some(CHUNK))?;
                    for run in &chunk {
                        *counts.entry(run.state.as_str()).or_default() += 1;
                    }
                    if chunk.len() < CHUNK {
                        break;
                    }
                    after = chunk.last().map(|r| r.run_id.clone());
                }
                out.push(DagStatsItem {
                    dag_id: dag_id.clone(),
                    stats: counts
                        .into_iter()
                        .map(|(state, count)| StateCount {
                            state: state.to_string(),
                            count,
                        })
                        .collect(),
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(DagStats {
        total_entries: dags.len(),
        dags,
    }))
}
