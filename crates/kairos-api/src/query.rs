//! The query parameters many endpoints share: how a read is answered
//! (`?consistent=`) and which page of a list (`?limit=&after=`). The server
//! reads them; the client writes them (fields left at their default are left
//! out of the query).

use serde::{Deserialize, Serialize};

/// `?consistent=true` asks for a linearizable read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct ReadOptions {
    #[serde(default, skip_serializing_if = "is_false")]
    pub consistent: bool,
}

/// `?limit=&after=`: pages in key order; `after` is the previous page's `next`.
/// `offset` (Airflow's paging) skips that many first: the server reads them to
/// skip them, so a deep offset costs what it skips.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// At most this many (1 to 1000; default 100, 1000 for a run's task instances).
    pub limit: Option<usize>,
    /// Start after this key.
    pub after: Option<String>,
    /// Skip this many items first (after `after`, if given), as Airflow's
    /// clients page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub consistent: bool,
}

/// For `skip_serializing_if`: a flag left at its default is not written.
pub(crate) fn is_false(flag: &bool) -> bool {
    !flag
}
