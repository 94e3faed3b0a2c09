//! Counter arithmetic over the index family's counters (their names are
//! `crate::keys::index::counter`): the numbers behind pools and concurrency limits.

use crate::keys::Cf;
use crate::store::StoreError;
use crate::txn::Txn;

pub(crate) fn count(txn: &Txn<'_>, key: &[u8]) -> Result<i64, StoreError> {
    Ok(txn.get::<i64>(Cf::Index, key)?.unwrap_or(0))
}

/// Adds `delta` to a counter; a counter back at zero is deleted, so that the state
/// after a workload is the same whatever counters it passed through.
pub(crate) fn add(txn: &mut Txn<'_>, key: Vec<u8>, delta: i64) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let value = count(txn, &key)? + delta;
    if value == 0 {
        txn.delete(Cf::Index, key);
    } else {
        txn.put(Cf::Index, key, &value);
    }
    Ok(())
}
