//! The one place leader-only work starts and stops: the leader loop runs while
//! this node leads (one loop per term), and its leases are dropped the moment it
//! does not.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use openraft::ServerState;

use super::lead::lead;
use super::state::{Leader, LeaderSettings};
use crate::node::Node;

/// The leader's shared state, with its supervisor running.
pub fn start(node: Node, settings: LeaderSettings) -> Arc<Leader> {
    let leader = Arc::new(Leader::new(node, settings));
    tokio::spawn(supervise(leader.clone()));
    leader
}

/// Starts the leader loop when this node becomes leader, stops it when it is not.
async fn supervise(s: Arc<Leader>) {
    let mut metrics = s.node.raft_metrics();
    let mut running: Option<(u64, tokio::task::JoinHandle<()>)> = None;
    loop {
        let (leader_now, term) = {
            let m = metrics.borrow_and_update();
            (
                m.state == ServerState::Leader && m.current_leader == Some(s.node.id()),
                m.current_term,
            )
        };
        match (&running, leader_now) {
            (Some((t, _)), true) if *t == term => {}
            (_, true) => {
                stop(&s, running.take());
                tracing::info!(term, "leading: starting the scheduler");
                running = Some((term, tokio::spawn(lead(s.clone(), term))));
            }
            (Some(_), false) => {
                tracing::info!("no longer leader: scheduler stopped");
                stop(&s, running.take());
            }
            (None, false) => {}
        }
        if metrics.changed().await.is_err() {
            stop(&s, running.take());
            return;
        }
    }
}

fn stop(s: &Leader, running: Option<(u64, tokio::task::JoinHandle<()>)>) {
    s.leading.store(false, Ordering::SeqCst);
    if let Some((_, handle)) = running {
        handle.abort();
    }
    s.with_leases(|l| l.clear());
}
