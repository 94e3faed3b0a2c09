//! Assets in Airflow 2's REST API v1 shapes (`/datasets`, `/datasets/events`):
//! Airflow 3 renamed datasets to assets, and `apache-airflow-client` 2.x reads
//! these.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A DAG scheduled on an asset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsumingDag {
    pub dag_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A task whose success updates an asset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProducingTask {
    pub dag_id: String,
    pub task_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Asset {
    /// A number for Airflow's clients: the asset's place in URI order.
    pub id: u64,
    pub uri: String,
    /// Airflow 3's name of the asset, when a DAG gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub extra: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub consuming_dags: Vec<ConsumingDag>,
    pub producing_tasks: Vec<ProducingTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetList {
    pub datasets: Vec<Asset>,
    pub total_entries: u64,
}

/// A run an event triggered, as Airflow lists it with the event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BasicRun {
    pub dag_id: String,
    pub run_id: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetEvent {
    /// Kairos's event id (it sorts in the order events happened).
    pub event_id: String,
    pub dataset_id: u64,
    pub dataset_uri: String,
    pub extra: Value,
    pub source_dag_id: Option<String>,
    pub source_task_id: Option<String>,
    pub source_run_id: Option<String>,
    pub source_map_index: i32,
    pub created_dagruns: Vec<BasicRun>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetEventList {
    pub dataset_events: Vec<AssetEvent>,
    pub total_entries: u64,
}

/// `POST /datasets/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateAssetEvent {
    pub dataset_uri: String,
    #[serde(default)]
    pub extra: Option<Value>,
}

/// The event list's filters (Airflow's `dataset_id` and `source_dag_id`, and
/// Kairos's `dataset_uri`), newest first, `offset` then `limit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
pub struct AssetEventQuery {
    pub dataset_uri: Option<String>,
    pub dataset_id: Option<u64>,
    pub source_dag_id: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}
