//! Holding a worker's call while the leadership changes, so that workers learn of
//! a new leader the moment this node does instead of retrying on a timer.
//!
//! A call is held (up to [`HOLD`]) while this node:
//! - was elected but its scheduler is not ready yet (the barrier, full leases);
//! - knows no leader (an election is under way);
//! - still names as leader the node the worker could not reach (the worker's
//!   `kairos-unreachable` metadata): that leader is probably dead, and this
//!   follower will hear of its successor within an election timeout.
//!
//! Then the call goes on as usual: served when this node leads, else refused
//! with the leader's address (`guard::check_leader`). A call from a worker that
//! reached its leader is never held.

use std::time::{Duration, Instant};

use tonic::Request;

use crate::leader::Leader;

/// The longest a call is held: past two election timeouts, under the worker's
/// two-second patience per node.
const HOLD: Duration = Duration::from_millis(1500);

/// How often a held call looks again (only while leadership changes).
const STEP: Duration = Duration::from_millis(2);

pub(super) async fn wait_for_leader<T>(s: &Leader, request: &Request<T>) {
    if s.is_leading() {
        return;
    }
    let gone = request
        .metadata()
        .get(kairos_proto::metadata::UNREACHABLE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let deadline = Instant::now() + HOLD;
    while Instant::now() < deadline && !s.is_leading() && held(s, gone.as_deref()) {
        tokio::time::sleep(STEP).await;
    }
}

fn held(s: &Leader, gone: Option<&str>) -> bool {
    if s.node.is_leader() {
        return true;
    }
    match s.leader_addr() {
        None => true,
        Some(leader) => gone == Some(leader.as_str()),
    }
}
