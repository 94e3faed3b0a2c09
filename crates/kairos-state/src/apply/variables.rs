//! Commands about Variables: set one (sealed or plain, as the API sent it), delete one.
//! A Variable with a `team` is that team's: stored apart, under the team's name.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::ids::check_id;
use crate::keys::{Cf, meta};
use crate::records::VariableRecord;
use crate::txn::Txn;

pub(super) fn set(txn: &mut Txn<'_>, variable: &VariableRecord) -> Handled {
    check_id("variable key", &variable.key)?;
    if let Some(team) = &variable.team {
        check_id("team", team)?;
    }
    txn.put(
        Cf::Meta,
        meta::variable_of(variable.team.as_deref(), &variable.key),
        variable,
    );
    Ok(Reply::from(Outcome::Done))
}

pub(super) fn delete(txn: &mut Txn<'_>, key: &str, team: Option<&str>) -> Handled {
    let at = meta::variable_of(team, key);
    if txn.get_raw(Cf::Meta, &at)?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            match team {
                Some(team) => format!("no variable `{key}` of team `{team}`"),
                None => format!("no variable `{key}`"),
            },
        ));
    }
    txn.delete(Cf::Meta, at);
    Ok(Reply::from(Outcome::Done))
}
