//! `/health` and `/cluster`: a node's own view of Raft, every member's view, and
//! membership changes (admin). They go through this node's Cluster service like
//! the rest of the API, so the HTTP side needs no handle on Raft itself.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kairos_api::{
    ClusterView, InitCluster, LeaderChange, MemberView, MembershipChange, NewMember, NodeHealth,
    StateDigest,
};
use kairos_proto::v1::{Member, NodeStatus};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::extract::Path;
use super::problem::Problem;
use super::scope::Scope;

fn member(m: NewMember) -> Result<Member, Problem> {
    if m.node_id == 0 {
        return Err(Problem::bad_request(
            "node_id 0 is reserved (it means \"none\"); use 1 or more",
        ));
    }
    if m.grpc_addr.trim().is_empty() || !m.grpc_addr.contains(':') {
        return Err(Problem::bad_request(format!(
            "grpc_addr {:?} of node {} is not HOST:PORT",
            m.grpc_addr, m.node_id
        )));
    }
    Ok(Member {
        node_id: m.node_id,
        grpc_addr: m.grpc_addr,
        http_addr: m.http_addr,
        voter: true,
    })
}

impl Api {
    async fn own_status(&self) -> Result<NodeStatus, Problem> {
        Ok(self.node.status())
    }
}

/// This node's role, term, leader and log positions.
#[utoipa::path(get, path = "/health", responses((status = 200, body = NodeHealth),
    (status = 503, body = Problem)))]
pub async fn health(State(api): State<Api>) -> Result<Json<NodeHealth>, Problem> {
    Ok(Json(convert::node_health(&api.own_status().await?)))
}

/// Every member, each asked for its own view (a member that does not answer within
/// a second is listed with the error).
#[utoipa::path(get, path = "/cluster", responses((status = 200, body = ClusterView),
    (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn cluster(State(api): State<Api>, scope: Scope) -> Result<Json<ClusterView>, Problem> {
    scope.require_cluster(Role::Viewer)?;
    let own = api.own_status().await?;
    let mut members = own.members.clone();
    if members.is_empty() {
        members.push(Member {
            node_id: own.node_id,
            grpc_addr: own.grpc_addr.clone(),
            http_addr: own.http_addr.clone(),
            voter: false,
        });
    }
    let asker =
        crate::client::ClusterClient::new(members.iter().map(|m| m.grpc_addr.clone()).collect())
            .with_patience(std::time::Duration::from_secs(1))
            .with_tls(api.node.tls().cloned());
    let mut views = Vec::with_capacity(members.len());
    for m in members {
        let answer = if m.node_id == own.node_id {
            Ok(own.clone())
        } else {
            asker.status(&m.grpc_addr).await
        };
        let (status, error) = match answer {
            Ok(s) => (Some(convert::node_health(&s)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        views.push(MemberView {
            node_id: m.node_id,
            grpc_addr: m.grpc_addr,
            voter: m.voter,
            status,
            error,
        });
    }
    let mut leader_changes: Vec<LeaderChange> = api
        .read(false, |s| s.leader_changes())
        .await?
        .into_iter()
        .map(|c| LeaderChange {
            term: c.term,
            node_id: c.node_id,
            at: c.at,
            index: c.index,
        })
        .collect();
    leader_changes.reverse();
    Ok(Json(ClusterView {
        leader_id: (own.leader_id != 0).then_some(own.leader_id),
        members: views,
        leader_changes,
    }))
}

/// This node's state digest and applied index (read from one view of the
/// store): compare nodes once writes have stopped.
#[utoipa::path(get, path = "/cluster/digest", responses((status = 200, body = StateDigest),
    (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn digest(State(api): State<Api>, scope: Scope) -> Result<Json<StateDigest>, Problem> {
    scope.require_cluster(Role::Admin)?;
    let node_id = api.node.status().node_id;
    let (applied_index, digest) = api
        .read(false, |s| {
            // The applied index is in the digest's view too: read it before
            // and after, and again while they differ (apply ran between).
            loop {
                let before = s.applied_index()?;
                let digest = s.digest()?;
                if s.applied_index()? == before {
                    return Ok((before, digest));
                }
            }
        })
        .await?;
    Ok(Json(StateDigest {
        node_id,
        applied_index,
        digest,
    }))
}

/// This node's whole state as a snapshot file (the format nodes send each
/// other, its checksum at the end), read from one view of the store: a
/// backup, which `kairos snapshot restore` makes a new node from. Streamed as
/// it is read (hundreds of MiB at a million task instances); a failure half
/// way cuts the answer short, and the checksum tells a reader it is not whole.
#[utoipa::path(get, path = "/cluster/snapshot", responses(
    (status = 200, description = "the snapshot's bytes", content_type = "application/octet-stream"),
    (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn snapshot(State(api): State<Api>, scope: Scope) -> Result<Response, Problem> {
    scope.require_cluster(Role::Admin)?;
    let (mut writer, body) = super::body_writer::BodyWriter::channel();
    let node = api.node.clone();
    tokio::spawn(async move {
        let read = node
            .read(crate::node::Consistency::Local, move |store| {
                let written = store.export_snapshot_to(&mut writer, |_| {});
                if let Err(e) = &written {
                    writer.fail(e.to_string());
                }
                written
            })
            .await;
        if let Err(e) = read {
            tracing::warn!("a snapshot download stopped: {e}");
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kairos.snapshot\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// Makes a new cluster: the answering node proposes the first membership.
#[utoipa::path(post, path = "/cluster/init", request_body = InitCluster, responses(
    (status = 200, body = NodeHealth), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn init(
    State(api): State<Api>,
    scope: Scope,
    Body(body): Body<InitCluster>,
) -> Result<Json<NodeHealth>, Problem> {
    scope.require_cluster(Role::Admin)?;
    let members = body
        .members
        .into_iter()
        .map(member)
        .collect::<Result<Vec<_>, _>>()?;
    api.node.init(members).await.map_err(|e| {
        Problem::new(
            StatusCode::CONFLICT,
            format!("the cluster was not initialized: {e}"),
        )
    })?;
    Ok(Json(convert::node_health(&api.own_status().await?)))
}

/// Adds a node: it joins as a learner, catches up, then becomes a voter.
#[utoipa::path(post, path = "/cluster/nodes", request_body = NewMember, responses(
    (status = 200, body = MembershipChange), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn add_node(
    State(api): State<Api>,
    scope: Scope,
    Body(body): Body<NewMember>,
) -> Result<Json<MembershipChange>, Problem> {
    scope.require_cluster(Role::Admin)?;
    let member = member(body)?;
    let reply = super::patiently(|| api.node.add_node(member.clone())).await?;
    Ok(Json(MembershipChange {
        log_index: reply.log_index,
    }))
}

/// Removes a node (voter or learner) from the membership.
#[utoipa::path(delete, path = "/cluster/nodes/{node_id}", params(("node_id" = u64, Path)),
    responses((status = 200, body = MembershipChange), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_node(
    State(api): State<Api>,
    scope: Scope,
    Path(node_id): Path<u64>,
) -> Result<Json<MembershipChange>, Problem> {
    scope.require_cluster(Role::Admin)?;
    let reply = super::patiently(|| api.node.remove_node(node_id)).await?;
    Ok(Json(MembershipChange {
        log_index: reply.log_index,
    }))
}
