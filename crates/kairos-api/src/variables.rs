//! Variables as the API shows them (values opened), and the body that sets one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Variable {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VariableList {
    pub variables: Vec<Variable>,
    pub next: Option<String>,
}

/// PUT body: the value (and an optional description).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableBody {
    pub value: String,
    pub description: Option<String>,
}
