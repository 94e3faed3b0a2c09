//! Commands about assets: an event posted through the API.

use serde_json::Value;

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::assets::record_event;
use crate::engine::sched::Sched;
use crate::keys::{Cf, assets as akeys};
use crate::txn::Txn;

/// Records an event of a known asset; DAGs scheduled on it may run.
pub(super) fn create_event(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    uri: &str,
    extra: &Value,
) -> Handled {
    if txn.get_raw(Cf::Assets, &akeys::asset(uri))?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            format!(
                "no asset `{uri}`: an asset exists once a DAG names it (in a task's outlets or inlets, or its schedule)"
            ),
        ));
    }
    let event = record_event(txn, sched, uri, None, extra.clone(), 0)?;
    Ok(Reply::from(Outcome::AssetEvent { event }))
}
