//! What task code asks through its worker beyond templates: `Variable.set`
//! (a Variable of the attempt's DAG's team, sealed as the API seals one) and
//! `BaseHook.get_connection` (the team's connection, else the cluster-wide
//! one, opened). Only for an attempt the caller holds.

use kairos_proto::v1::{GetConnectionReply, GetConnectionRequest, ReportReply, SetVariableRequest};
use kairos_state::Command;
use kairos_state::records::VariableRecord;
use tonic::Status;

use super::caller::{held, team_of};
use super::guard::{check_leader, propose};
use crate::connection_secret;
use crate::leader::Leader;
use crate::node::Node;
use crate::secrets::VariableKey;

pub(super) async fn set_variable(
    s: &Leader,
    proven: &Option<String>,
    key: Option<&VariableKey>,
    r: SetVariableRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let by = held(&s.node, proven, r.by)?;
    if r.key.trim().is_empty() {
        return Err(Status::invalid_argument("Variable.set needs a key"));
    }
    let team = team_of(&s.node, &by.dag_id)?;
    let (value, encrypted) = match key {
        Some(k) => (
            k.seal(&VariableKey::sealed_name(team.as_deref(), &r.key), &r.value)
                .map_err(Status::internal)?,
            true,
        ),
        None => (r.value, false),
    };
    let committed = propose(
        s,
        vec![Command::SetVariable {
            variable: VariableRecord {
                key: r.key,
                value,
                description: (!r.description.is_empty()).then_some(r.description),
                encrypted,
                team,
            },
        }],
    )
    .await?;
    Ok(match committed.results.into_iter().next() {
        Some(Ok(_)) => ReportReply {
            accepted: true,
            outcome: "done".into(),
            message: String::new(),
            tasks: Vec::new(),
        },
        Some(Err(rejection)) => ReportReply {
            accepted: false,
            outcome: "refused".into(),
            message: rejection.message,
            tasks: Vec::new(),
        },
        None => ReportReply {
            accepted: false,
            outcome: "refused".into(),
            message: "the cluster gave no result".into(),
            tasks: Vec::new(),
        },
    })
}

pub(super) fn get_connection(
    node: &Node,
    proven: &Option<String>,
    key: Option<&VariableKey>,
    r: GetConnectionRequest,
) -> Result<GetConnectionReply, Status> {
    let by = held(node, proven, r.by)?;
    let team = team_of(node, &by.dag_id)?;
    let record = node.read_now(|store| store.connection_for(team.as_deref(), &r.conn_id))?;
    let Some(record) = record else {
        return Ok(GetConnectionReply::default());
    };
    let full = connection_secret::full(key, &record).map_err(Status::failed_precondition)?;
    Ok(GetConnectionReply {
        found: true,
        connection_json: full.to_string(),
    })
}
