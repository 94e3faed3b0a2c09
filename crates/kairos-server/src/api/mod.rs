//! The REST API (`/api/v1`), served by every node on its HTTP address. Reads are
//! answered by the node that receives them (`?consistent=true` for a linearizable
//! read); writes go through this node's Cluster service, which forwards them to
//! the leader. The OpenAPI document at `/api/v1/openapi.json` is generated from
//! the handlers, so it cannot drift from them. Errors are problem details.

mod actions;
pub mod auth;
mod backfills;
mod body;
pub mod cluster;
mod convert;
mod dags;
mod extract;
mod logs;
mod pools;
pub mod problem;
mod push;
mod runs;
mod task_instances;
mod variables;
mod versions;

use std::sync::Arc;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::client::ClusterClient;
use auth::ApiTokens;
use kairos_state::Query;
use problem::Problem;

/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 1024 * 1024;
/// ... except a DAG file's upload, which carries the files it references.
const MAX_DAG_FILE_BODY: usize = 16 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct Api {
    /// This node's own Cluster service: reads see what this node applied, writes
    /// are forwarded to the leader from there.
    client: Arc<ClusterClient>,
    tokens: Arc<ApiTokens>,
    /// Seals Variables before they are proposed; `None` stores them in plain text.
    variables_key: Option<crate::secrets::VariableKey>,
}

impl Api {
    pub fn new(
        own_grpc_addr: String,
        tokens: ApiTokens,
        variables_key: Option<crate::secrets::VariableKey>,
    ) -> Api {
        Api {
            client: Arc::new(
                ClusterClient::new(vec![own_grpc_addr])
                    .with_patience(std::time::Duration::from_secs(10)),
            ),
            tokens: Arc::new(tokens),
            variables_key,
        }
    }

    /// A read on this node, linearizable when asked.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        query: Query,
        consistent: bool,
    ) -> Result<T, Problem> {
        let value: Value = self
            .client
            .query(&query, consistent)
            .await
            .map_err(Problem::from_client)?;
        serde_json::from_value(value)
            .map_err(|e| Problem::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    }

    /// One write through Raft; a refusal becomes its problem.
    async fn write(
        &self,
        command: kairos_state::Command,
    ) -> Result<kairos_state::Outcome, Problem> {
        let proposed = self
            .client
            .propose(std::slice::from_ref(&command))
            .await
            .map_err(Problem::from_client)?;
        match proposed.results.into_iter().next() {
            Some(Ok(outcome)) => Ok(outcome),
            Some(Err(rejection)) => Err(Problem::from_rejection(&rejection)),
            None => Err(Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the cluster gave no result for the write",
            )),
        }
    }
}

/// `?consistent=true` asks for a linearizable read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReadOptions {
    #[serde(default)]
    pub consistent: bool,
}

/// `?limit=&after=`: pages in key order; `after` is the previous page's `next`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// At most this many (1 to 1000; default 100, 1000 for a run's task instances).
    pub limit: Option<usize>,
    /// Start after this key.
    pub after: Option<String>,
    #[serde(default)]
    pub consistent: bool,
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
        .routes(routes!(dags::list_dags))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(push::push))
                .layer(DefaultBodyLimit::max(MAX_DAG_FILE_BODY)),
        )
        .routes(routes!(dags::get_dag, dags::patch_dag))
        .routes(routes!(runs::list_runs, runs::trigger_run))
        .routes(routes!(runs::get_run, runs::patch_run, runs::delete_run))
        .routes(routes!(task_instances::list_task_instances))
        .routes(routes!(
            task_instances::get_task_instance,
            actions::mark_task_instance
        ))
        .routes(routes!(actions::clear_task_instances))
        .routes(routes!(actions::list_xcoms))
        .routes(routes!(logs::get_log))
        .routes(routes!(task_instances::explain_task_instance))
        .routes(routes!(task_instances::list_tries))
        .routes(routes!(versions::list_versions))
        .routes(routes!(versions::get_version))
        .routes(routes!(versions::get_file))
        .routes(routes!(versions::diff_versions))
        .routes(routes!(pools::list_pools))
        .routes(routes!(
            pools::get_pool,
            pools::put_pool,
            pools::delete_pool
        ))
        .routes(routes!(variables::list_variables))
        .routes(routes!(
            variables::get_variable,
            variables::put_variable,
            variables::delete_variable
        ))
        .routes(routes!(backfills::create_backfill))
        .routes(routes!(cluster::health))
        .routes(routes!(cluster::cluster))
        .routes(routes!(cluster::init))
        .routes(routes!(cluster::add_node))
        .routes(routes!(cluster::remove_node))
        .with_state(api.clone())
        .split_for_parts();
    let router = router.route_layer(axum::middleware::from_fn_with_state(
        api.tokens.clone(),
        auth::require_token,
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
            .layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}
