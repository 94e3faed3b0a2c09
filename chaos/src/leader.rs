//! Who leads: the nodes asked one by one for their own view, the highest term
//! winning, and waiting until one does.

use std::time::{Duration, Instant};

use kairos_client::Client as Api;

/// The id of the leader, as the nodes that answer say (the highest term wins).
pub async fn find_leader(api: &Api, n: usize) -> Option<u64> {
    let mut best: Option<(u64, u64)> = None;
    for node in 0..n {
        let Some(one) = api.node(node) else { continue };
        if let Ok(health) = one.health().await {
            if health.role == "leader" && best.is_none_or(|(t, _)| health.term > t) {
                best = Some((health.term, health.node_id));
            }
        }
    }
    best.map(|(_, id)| id)
}

/// The highest Raft term any node answers with (each election, won or not,
/// starts a new term).
pub async fn highest_term(api: &Api, n: usize) -> Option<u64> {
    let mut best = None;
    for node in 0..n {
        let Some(one) = api.node(node) else { continue };
        if let Ok(health) = one.health().await {
            best = best.max(Some(health.term));
        }
    }
    best
}

/// The leader's id once one is elected, or `None` after `within`.
pub async fn wait_for_leader(api: &Api, n: usize, within: Duration) -> Option<u64> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(id) = find_leader(api, n).await {
            return Some(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
