//! `SetClusterId`: the cluster's name, set once. It lives in the replicated state so
//! that every snapshot carries it: a node can tell a snapshot (or a peer) of another
//! cluster from one of its own.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::keys::{Cf, meta};
use crate::txn::Txn;

pub(super) fn set(txn: &mut Txn<'_>, cluster_id: &str) -> Handled {
    check(cluster_id).map_err(|problem| refused(RejectionKind::Invalid, problem))?;
    match txn.get::<String>(Cf::Meta, meta::CLUSTER_ID)? {
        Some(current) if current == cluster_id => Ok(Reply::from(Outcome::Done)),
        Some(current) => Err(refused(
            RejectionKind::AlreadyExists,
            format!(
                "this cluster is `{current}`; it cannot become `{cluster_id}` (a cluster keeps its id for life)"
            ),
        )),
        None => {
            txn.put(Cf::Meta, meta::CLUSTER_ID.to_vec(), &cluster_id.to_string());
            Ok(Reply::from(Outcome::Done))
        }
    }
}

/// A cluster id is a DNS label: 1 to 63 of `a-z 0-9 -`, not starting or ending with
/// `-` (the form certificates carry it in).
pub fn check(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the cluster id {id:?} must be 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'"
        ))
    }
}
