//! Connections as the API shows them (Airflow's shape: the password is
//! write-only, never answered; values under secret-looking keys of `extra`
//! are shown as `***`), and the body that creates or changes one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Connection {
    pub connection_id: String,
    pub conn_type: String,
    pub description: Option<String>,
    pub host: Option<String>,
    pub login: Option<String>,
    pub schema: Option<String>,
    pub port: Option<u16>,
    /// JSON text, values under secret-looking keys shown as `***`.
    pub extra: Option<String>,
    /// Whether a password is stored (it is never answered).
    #[serde(default)]
    pub has_password: bool,
    /// The team the connection belongs to; absent for a cluster-wide one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<Connection>,
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<usize>,
}

/// Airflow's connection body: `POST /connections` (with `connection_id` and
/// `conn_type`) and `PATCH /connections/{id}` (the fields `update_mask`
/// names, or all of them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// JSON text of an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}
