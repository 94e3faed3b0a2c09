//! Keys of the meta family: cluster settings, the last stamp and applied index,
//! Variables, and the Raft glue's own records (opaque here, named by the glue).

/// The cluster settings ([`crate::records::Settings`]).
pub const SETTINGS: &[u8] = b"settings";
/// The stamp of the last applied batch, so that time never runs backwards across
/// a leader change whose clock is behind.
pub const LAST_STAMP: &[u8] = b"last_stamp";
/// The Raft index of the last applied entry, as the state machine saw it.
pub const APPLIED_INDEX: &[u8] = b"applied_index";
/// The cluster's id (a string), set once by [`crate::Command::SetClusterId`].
pub const CLUSTER_ID: &[u8] = b"cluster_id";
/// The recent leader changes (a list of [`crate::records::LeaderChange`],
/// newest last, at most [`crate::records::LEADER_CHANGES_KEPT`]).
pub const LEADER_CHANGES: &[u8] = b"leader_changes";
/// Prefix of Variables (`variable/<key>` → [`crate::records::VariableRecord`]).
pub const VARIABLE_PREFIX: &[u8] = b"variable/";
/// Prefix of team-scoped Variables (`team_variable/<team>\0<key>` →
/// [`crate::records::VariableRecord`]); apart from `variable/`, so a scan of the
/// cluster-wide ones never meets a team's.
pub const TEAM_VARIABLE_PREFIX: &[u8] = b"team_variable/";
/// Prefix of connections (`connection/<team or empty>\0<conn_id>` →
/// [`crate::records::ConnectionRecord`]): the cluster-wide ones under the empty
/// team, so they sort first and a team's scan never meets another's.
pub const CONNECTION_PREFIX: &[u8] = b"connection/";
/// Prefix of the Raft glue's records.
const RAFT_PREFIX: &[u8] = b"raft/";

/// The key of Variable `key`.
pub fn variable(key: &str) -> Vec<u8> {
    let mut k = VARIABLE_PREFIX.to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

/// The prefix of team `team`'s Variables.
pub fn team_variables(team: &str) -> Vec<u8> {
    let mut k = TEAM_VARIABLE_PREFIX.to_vec();
    k.extend_from_slice(team.as_bytes());
    k.push(0);
    k
}

/// The key of Variable `key` of `team`, or the cluster-wide one for `None`.
pub fn variable_of(team: Option<&str>, key: &str) -> Vec<u8> {
    match team {
        None => variable(key),
        Some(team) => {
            let mut k = team_variables(team);
            k.extend_from_slice(key.as_bytes());
            k
        }
    }
}

/// The prefix of `team`'s connections (the cluster-wide ones for `None`).
pub fn connections_of(team: Option<&str>) -> Vec<u8> {
    let mut k = CONNECTION_PREFIX.to_vec();
    k.extend_from_slice(team.unwrap_or_default().as_bytes());
    k.push(0);
    k
}

/// The key of connection `conn_id` of `team` (the cluster-wide one for `None`).
pub fn connection_of(team: Option<&str>, conn_id: &str) -> Vec<u8> {
    let mut k = connections_of(team);
    k.extend_from_slice(conn_id.as_bytes());
    k
}

/// The key of the Raft glue's record `name`.
pub fn raft(name: &str) -> Vec<u8> {
    let mut key = RAFT_PREFIX.to_vec();
    key.extend_from_slice(name.as_bytes());
    key
}

/// The name of the Raft glue's record stored under `key`, if it is one.
pub fn raft_name(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(RAFT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_records_read_back_by_name() {
        assert_eq!(raft_name(&raft("membership")), Some(&b"membership"[..]));
        assert_eq!(raft_name(&variable("membership")), None);
        assert_eq!(raft_name(SETTINGS), None);
    }

    #[test]
    fn connections_of_teams_stay_apart() {
        let global = connection_of(None, "db");
        assert!(global.starts_with(&connections_of(None)));
        assert!(!connection_of(Some("a"), "db").starts_with(&connections_of(None)));
        assert!(!connection_of(Some("ab"), "x").starts_with(&connections_of(Some("a"))));
    }

    #[test]
    fn team_variables_stay_apart_from_cluster_wide_ones() {
        assert_eq!(variable_of(None, "x"), variable("x"));
        let a = variable_of(Some("a"), "x");
        assert!(a.starts_with(&team_variables("a")));
        assert!(!a.starts_with(VARIABLE_PREFIX));
        assert!(!variable_of(Some("ab"), "x").starts_with(&team_variables("a")));
    }
}
