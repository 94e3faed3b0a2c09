//! Three real servers: 1,000 writes through every node, `kill -9` of the leader in
//! the middle, a new leader, no acknowledged write lost, the killed node back and
//! equal to the others byte for byte, and the same leader changes listed by all.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};
use tokio::sync::Mutex;

const WRITES: u32 = 1000;
const WRITERS: u32 = 8;

fn pool(i: u32) -> Command {
    Command::set_pool(format!("pool-{i:04}"), i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_the_leader_being_killed() {
    let mut cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
    )
    .expect("start the cluster");
    let first_leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");

    // Writers, each starting at a different node: writes go through followers too,
    // which forward them to the leader.
    let next = Arc::new(Mutex::new(0u32));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let spawn_writers = |cluster: &Cluster, upto: u32| {
        (0..WRITERS)
            .map(|w| {
                let client = cluster.client_via(1 + (w as u64 % 3));
                let next = next.clone();
                let acked = acked.clone();
                tokio::spawn(async move {
                    loop {
                        let i = {
                            let mut next = next.lock().await;
                            if *next >= upto {
                                return;
                            }
                            *next += 1;
                            *next - 1
                        };
                        // Retry until acknowledged: a write whose outcome is unknown (the
                        // leader died mid-flight) is sent again; setting a pool twice is
                        // harmless.
                        let deadline = std::time::Instant::now() + Duration::from_secs(90);
                        loop {
                            assert!(
                                std::time::Instant::now() < deadline,
                                "write {i} was not acknowledged within 90 s"
                            );
                            match client.propose(&[pool(i)]).await {
                                Ok(reply) => {
                                    assert!(reply.results[0].is_ok(), "{:?}", reply.results);
                                    acked.lock().await.insert(i);
                                    break;
                                }
                                Err(e) => eprintln!("write {i}: {e}; retrying"),
                            }
                        }
                    }
                })
            })
            .collect::<Vec<_>>()
    };

    for writer in spawn_writers(&cluster, WRITES / 2) {
        writer.await.expect("writer");
    }
    assert_eq!(acked.lock().await.len() as u32, WRITES / 2);

    // Kill the leader while the second half is being written.
    let writers = spawn_writers(&cluster, WRITES);
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.kill(first_leader);
    let at_kill = acked.lock().await.len() as u32;
    assert!(
        at_kill > WRITES / 2 && at_kill < WRITES,
        "the leader should die while writes are under way ({at_kill} acknowledged)"
    );
    let second_leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    assert_ne!(second_leader, first_leader);
    for writer in writers {
        writer.await.expect("writer");
    }
    assert_eq!(acked.lock().await.len() as u32, WRITES);

    // Every acknowledged write is on the two survivors.
    let expected: BTreeSet<String> = acked
        .lock()
        .await
        .iter()
        .map(|i| format!("pool-{i:04}"))
        .collect();
    let client = kairos_server::ClusterClient::new(vec![]);
    for node in cluster.nodes.iter().filter(|n| n.child.is_some()) {
        let pools = client
            .query_node(&node.grpc, &Query::Pools, true)
            .await
            .expect("pools");
        let names: BTreeSet<String> = pools
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .filter(|n| n.starts_with("pool-"))
            .map(str::to_string)
            .collect();
        assert_eq!(names, expected, "node {} lost acknowledged writes", node.id);
    }

    // The killed node comes back from its data dir and catches up.
    cluster.spawn(first_leader).expect("start the node");
    let applied = cluster
        .wait_converged(0, Duration::from_secs(60))
        .await
        .expect("converged");
    // Writes may share entries (group commit), but there are at least this many.
    assert!(
        applied >= u64::from(WRITES / WRITERS),
        "applied index {applied}"
    );
    let digests = cluster.digests().await.expect("digests");
    assert_eq!(digests.len(), 3);
    assert!(
        digests.iter().all(|(_, d)| d == &digests[0].1),
        "state digests differ: {digests:?}"
    );

    // Each leader recorded itself in the log: every node lists the same leader
    // changes, the second leader newest, in a later term than the first.
    let mut seen = Vec::new();
    for id in 1..=3 {
        let view = cluster
            .api(id)
            .expect("api")
            .cluster()
            .await
            .expect("cluster");
        let changes: Vec<(u64, u64, u64)> = view
            .leader_changes
            .iter()
            .map(|c| (c.term, c.node_id, c.index))
            .collect();
        seen.push(changes);
    }
    assert!(
        seen.iter().all(|c| c == &seen[0]),
        "nodes list different leader changes: {seen:?}"
    );
    let changes = &seen[0];
    assert!(changes.len() >= 2, "two leaders, two changes: {changes:?}");
    assert_eq!(changes[0].1, second_leader, "newest first: {changes:?}");
    let first = changes
        .iter()
        .find(|c| c.1 == first_leader)
        .unwrap_or_else(|| panic!("the first leader's change is missing: {changes:?}"));
    assert!(
        first.0 < changes[0].0 && first.2 < changes[0].2,
        "{changes:?}"
    );
}
