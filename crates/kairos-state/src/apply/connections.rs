//! Commands about connections: set one (its secret part sealed or plain, as
//! the API sent it), delete one. A connection with a `team` is that team's.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::ids::check_id;
use crate::keys::{Cf, meta};
use crate::records::ConnectionRecord;
use crate::txn::Txn;

pub(super) fn set(txn: &mut Txn<'_>, connection: &ConnectionRecord) -> Handled {
    check_id("connection id", &connection.conn_id)?;
    if let Some(team) = &connection.team {
        check_id("team", team)?;
    }
    txn.put(
        Cf::Meta,
        meta::connection_of(connection.team.as_deref(), &connection.conn_id),
        connection,
    );
    Ok(Reply::from(Outcome::Done))
}

pub(super) fn delete(txn: &mut Txn<'_>, conn_id: &str, team: Option<&str>) -> Handled {
    let at = meta::connection_of(team, conn_id);
    if txn.get_raw(Cf::Meta, &at)?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            match team {
                Some(team) => format!("no connection `{conn_id}` of team `{team}`"),
                None => format!("no connection `{conn_id}`"),
            },
        ));
    }
    txn.delete(Cf::Meta, at);
    Ok(Reply::from(Outcome::Done))
}
