//! A leader paused (SIGSTOP) for longer than the election timeout is replaced; when
//! it wakes up (SIGCONT) it must not commit anything as the old leader, and it ends
//! with the same state as the others.

use std::time::Duration;

use kairos_server::ClusterClient;
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_wakes_up_as_a_follower() {
    let cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
    )
    .expect("start the cluster");
    let old = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    client
        .propose(&[Command::set_pool("before", 1)])
        .await
        .expect("write");

    cluster.signal(old, "STOP").expect("SIGSTOP");
    // A write sent to the paused leader alone cannot be acknowledged while it sleeps.
    let to_old = ClusterClient::new(vec![cluster.node(old).grpc.clone()])
        .with_patience(Duration::from_secs(1));
    let stale_write =
        tokio::spawn(async move { to_old.propose(&[Command::set_pool("via-paused", 2)]).await });

    // The others elect a new leader and keep taking writes.
    let others: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| n.id != old)
        .map(|n| n.grpc.clone())
        .collect();
    let survivors = ClusterClient::new(others).with_patience(Duration::from_secs(30));
    for i in 0..20u32 {
        // A write forwarded to the paused leader before the others noticed has an
        // unknown outcome; setting a pool is idempotent, so it is sent again.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match survivors
                .propose(&[Command::set_pool(format!("during-{i}"), i)])
                .await
            {
                Ok(reply) => {
                    assert!(reply.results[0].is_ok());
                    break;
                }
                Err(e) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "write {i} never went through: {e}"
                    );
                    eprintln!("write {i}: {e}; sending it again");
                }
            }
        }
    }
    let status = cluster
        .status(if old == 1 { 2 } else { 1 })
        .await
        .expect("status");
    assert_ne!(status.leader_id, old);
    assert_ne!(status.leader_id, 0);

    cluster.signal(old, "CONT").expect("SIGCONT");
    let new = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("one leader");
    assert_ne!(new, old, "the woken node must not lead again at once");
    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    let digests = cluster.digests().await.expect("digests");
    assert!(
        digests.iter().all(|(_, d)| d == &digests[0].1),
        "{digests:?}"
    );

    // Whatever the paused node answered, every node agrees on the outcome: the write
    // is either everywhere or nowhere, and an acknowledged write is everywhere.
    let acknowledged =
        matches!(stale_write.await.expect("join"), Ok(ref reply) if reply.results[0].is_ok());
    let direct = ClusterClient::new(vec![]);
    let mut seen = Vec::new();
    for node in &cluster.nodes {
        let pools = direct
            .query_node(&node.grpc, &Query::Pools, false)
            .await
            .expect("pools");
        let list = pools.as_array().expect("a list");
        assert!(
            list.iter().any(|p| p["name"] == "during-19"),
            "node {} lost writes",
            node.id
        );
        seen.push(list.iter().any(|p| p["name"] == "via-paused"));
    }
    assert!(
        seen.iter().all(|s| *s == seen[0]),
        "nodes disagree about the paused leader's write: {seen:?}"
    );
    if acknowledged {
        assert!(seen[0], "an acknowledged write is missing");
    }
}
