//! Commands about pools: set one (create or resize), delete one.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::{DEFAULT_POOL, PoolRecord};
use crate::txn::Txn;

pub(super) fn set(txn: &mut Txn<'_>, pool: &PoolRecord) -> Handled {
    check_id("pool name", &pool.name)?;
    if let Some(team) = &pool.team {
        check_id("team", team)?;
    }
    txn.put(Cf::Pools, keys::pool(&pool.name), pool);
    Ok(Reply::from(Outcome::Done))
}

pub(super) fn delete(txn: &mut Txn<'_>, name: &str) -> Handled {
    if name == DEFAULT_POOL {
        return Err(refused(
            RejectionKind::Invalid,
            format!("`{DEFAULT_POOL}` cannot be deleted; set its slots instead"),
        ));
    }
    if txn.get_raw(Cf::Pools, &keys::pool(name))?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no pool `{name}`"),
        ));
    }
    txn.delete(Cf::Pools, keys::pool(name));
    Ok(Reply::from(Outcome::Done))
}
