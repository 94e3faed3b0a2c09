//! Variables as the API shows them (values opened), and the body that sets one.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Variable {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    /// The team the Variable belongs to; absent for a cluster-wide one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `?team=`: whose Variables. A team's token always means its own team (and
/// reads cluster-wide Variables where its team has none of that key); a
/// cluster-wide token names a team, or none for the cluster-wide Variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamQuery {
    #[serde(default)]
    pub team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VariableList {
    pub variables: Vec<Variable>,
    pub next: Option<String>,
    /// Every Variable the caller may read (left out of pages asked for with
    /// `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<usize>,
}

/// Airflow's Variable body, for `POST /variables` (`key` and `value`) and
/// `PATCH /variables/{key}` (`value`, and `key` equal to the path's if given).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AirflowVariable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// PUT body: the value (and an optional description).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableBody {
    pub value: String,
    pub description: Option<String>,
}
