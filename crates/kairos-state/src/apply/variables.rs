//! Commands about Variables: set one (sealed or plain, as the API sent it), delete one.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::ids::check_id;
use crate::keys::{Cf, meta};
use crate::records::VariableRecord;
use crate::txn::Txn;

pub(super) fn set(txn: &mut Txn<'_>, variable: &VariableRecord) -> Handled {
    check_id("variable key", &variable.key)?;
    txn.put(Cf::Meta, meta::variable(&variable.key), variable);
    Ok(Reply::from(Outcome::Done))
}

pub(super) fn delete(txn: &mut Txn<'_>, key: &str) -> Handled {
    if txn.get_raw(Cf::Meta, &meta::variable(key))?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no variable `{key}`"),
        ));
    }
    txn.delete(Cf::Meta, meta::variable(key));
    Ok(Reply::from(Outcome::Done))
}
