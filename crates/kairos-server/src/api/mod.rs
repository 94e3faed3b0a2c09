//! The REST API (`/api/v1`), served by every node on its HTTP address. Reads are
//! answered by the node that receives them (`?consistent=true` for a linearizable
//! read); writes go through this node (`crate::node::Node`), which forwards them
//! to the leader. The OpenAPI document at `/api/v1/openapi.json` is generated from
//! the handlers, so it cannot drift from them. Errors are problem details.

mod actions;
mod airflow;
mod assets;
pub mod auth;
mod backfills;
mod body;
mod body_writer;
mod bundle_push;
mod bundles;
mod clear;
pub mod cluster;
mod connections;
mod convert;
mod dag_stats;
mod dag_tasks;
mod dags;
mod extract;
mod grid;
mod logs;
mod never_errors;
mod paging;
mod pools;
pub mod problem;
mod push;
mod retention;
mod runs;
pub mod scope;
mod task_instances;
mod tries;
mod variables;
mod version;
mod versions;
mod workers;
mod xcoms;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::time::{Duration, Instant};

use crate::leader::Leader;
use crate::node::{Consistency, Node, NodeError};
use auth::ApiTokens;
use body::{BodyLimit, MAX_BODY, MAX_DAG_FILE_BODY};
use kairos_state::{Store, StoreError};
use problem::Problem;

/// What every handler shares.
#[derive(Clone)]
pub struct Api {
    /// This node: reads see what it applied (or, asked for, what the leader had
    /// committed), writes go to the leader from here.
    node: Node,
    /// The leader's state, for explanations (which workers are live).
    leader: Arc<Leader>,
    pub(crate) tokens: Arc<ApiTokens>,
    /// Seals Variables before they are proposed; `None` stores them in plain text.
    variables_key: Option<crate::secrets::VariableKey>,
}

/// How long a request keeps trying while nothing can answer it (an election):
/// a client sees one answer, not the election.
const PATIENCE: Duration = Duration::from_secs(10);

impl Api {
    pub fn new(
        node: Node,
        leader: Arc<Leader>,
        tokens: ApiTokens,
        variables_key: Option<crate::secrets::VariableKey>,
    ) -> Api {
        Api {
            node,
            leader,
            tokens: Arc::new(tokens),
            variables_key,
        }
    }

    /// Reads the state with `f`, on this node; linearizable when asked.
    async fn read<T, F>(&self, consistent: bool, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: Fn(&Store) -> Result<T, StoreError> + Clone + Send + 'static,
    {
        let consistency = Consistency::from_flag(consistent);
        patiently(|| self.node.read(consistency, f.clone())).await
    }

    /// [`Api::write`], sent again (at most 5 tries) while its outcome is
    /// unknown (503: the leader changed on the way); for commands that are
    /// safe to repeat. Also answers whether an earlier try's outcome was
    /// unknown (it may have been applied).
    async fn write_resent(
        &self,
        command: kairos_state::Command,
    ) -> (Result<kairos_state::Outcome, Problem>, bool) {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.write(command.clone()).await {
                Err(problem) if problem.status == 503 && tries < 5 => continue,
                other => return (other, tries > 1),
            }
        }
    }

    /// One write through Raft; a refusal becomes its problem.
    async fn write(
        &self,
        command: kairos_state::Command,
    ) -> Result<kairos_state::Outcome, Problem> {
        let committed = patiently(|| self.node.propose(vec![command.clone()])).await?;
        match committed.results.into_iter().next() {
            Some(Ok(outcome)) => Ok(outcome),
            Some(Err(rejection)) => Err(Problem::from_rejection(&rejection)),
            None => Err(Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the cluster gave no result for the write",
            )),
        }
    }
}

/// Runs `call` until it answers with anything but "try again", for up to
/// [`PATIENCE`].
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, Problem>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, NodeError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match call().await {
            Err(e) if e.is_retryable() && started.elapsed() < PATIENCE => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            answer => return answer.map_err(Problem::from_node),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kairos REST API",
        description = "DAGs, versions, runs and task instances of a Kairos cluster. Shaped like Airflow's stable REST API where the same thing exists.",
        version = "1"
    ),
    servers((url = "/api/v1", description = "this node")),
    components(schemas(Problem))
)]
struct ApiDoc;

/// Refuses requests whose `Host` is not a loopback name (for an open development
/// server: a web page elsewhere cannot reach it through DNS rebinding).
pub async fn loopback_host(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    if matches!(name, "127.0.0.1" | "localhost" | "::1") {
        next.run(request).await
    } else {
        Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            format!("this open development API answers only requests to 127.0.0.1 or localhost, not {host:?}"),
        )
        .into_response()
    }
}

/// The API's routes under `/api/v1`, with the OpenAPI document.
pub fn router(api: Api) -> axum::Router {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(dags::list_dags, dags::patch_dags))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(push::push))
                .routes(routes!(bundle_push::upload_files))
                .routes(routes!(bundle_push::push_bundle))
                .layer(Extension(BodyLimit(MAX_DAG_FILE_BODY))),
        )
        .routes(routes!(bundle_push::missing_files))
        .routes(routes!(bundles::list_bundles))
        .routes(routes!(bundles::get_bundle))
        .routes(routes!(bundles::list_bundle_versions))
        .routes(routes!(bundles::get_bundle_version))
        .routes(routes!(dags::get_dag, dags::patch_dag, dags::delete_dag))
        .routes(routes!(dag_tasks::get_dag_details))
        .routes(routes!(grid::get_grid))
        .routes(routes!(dag_tasks::list_dag_tasks))
        .routes(routes!(dag_tasks::get_dag_task))
        .routes(routes!(dag_stats::dag_stats))
        .routes(routes!(runs::list_runs, runs::trigger_run))
        .routes(routes!(runs::get_run, runs::patch_run, runs::delete_run))
        .routes(routes!(task_instances::list_task_instances))
        .routes(routes!(
            task_instances::get_task_instance,
            actions::mark_task_instance
        ))
        .routes(routes!(clear::clear_task_instances))
        .routes(routes!(clear::clear_dag_run))
        .routes(routes!(task_instances::get_mapped_task_instance))
        .routes(routes!(task_instances::list_mapped))
        .routes(routes!(xcoms::list_xcoms))
        .routes(routes!(xcoms::get_xcom))
        .routes(routes!(logs::get_log))
        .routes(routes!(task_instances::explain_task_instance))
        .routes(routes!(tries::list_tries))
        .routes(routes!(tries::get_try))
        .routes(routes!(versions::list_versions))
        .routes(routes!(versions::get_version))
        .routes(routes!(versions::get_file))
        .routes(routes!(versions::diff_versions))
        .routes(routes!(pools::list_pools, pools::post_pool))
        .routes(routes!(
            pools::get_pool,
            pools::put_pool,
            pools::patch_pool,
            pools::delete_pool
        ))
        .routes(routes!(
            connections::list_connections,
            connections::post_connection
        ))
        .routes(routes!(
            connections::get_connection,
            connections::patch_connection,
            connections::delete_connection
        ))
        .routes(routes!(variables::list_variables, variables::post_variable))
        .routes(routes!(
            variables::get_variable,
            variables::put_variable,
            variables::patch_variable,
            variables::delete_variable
        ))
        .routes(routes!(assets::list_assets))
        .routes(routes!(
            assets::list_asset_events,
            assets::create_asset_event
        ))
        .routes(routes!(assets::get_asset))
        .routes(routes!(assets::upstream_asset_events))
        .routes(routes!(version::version))
        .routes(routes!(never_errors::list_import_errors))
        .routes(routes!(never_errors::get_import_error))
        .routes(routes!(never_errors::list_dag_warnings))
        .routes(routes!(backfills::create_backfill))
        .routes(routes!(workers::list_workers))
        .routes(routes!(cluster::health))
        .routes(routes!(cluster::cluster))
        .routes(routes!(cluster::digest))
        .routes(routes!(cluster::snapshot))
        .routes(routes!(retention::purge))
        .routes(routes!(cluster::init))
        .routes(routes!(cluster::add_node))
        .routes(routes!(cluster::remove_node))
        .with_state(api.clone())
        .split_for_parts();
    let router = router.route_layer(axum::middleware::from_fn_with_state(
        api.tokens.clone(),
        scope::resolve,
    ));
    let doc = Arc::new(doc);
    let openapi = get(move || {
        let doc = doc.clone();
        async move { Json(doc.as_ref().clone()) }
    });
    axum::Router::new().nest(
        "/api/v1",
        router
            .route("/openapi.json", openapi)
            .fallback(|uri: axum::http::Uri| async move {
                Problem::not_found(format!(
                    "no API endpoint {uri}: see /api/v1/openapi.json for the endpoints"
                ))
            })
            .layer(Extension(BodyLimit(MAX_BODY))),
    )
}
