//! Reads and writes from any node, and clean restarts.

use std::time::Duration;

use kairos_server::ClusterClient;
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};

async fn pool_slots(
    client: &ClusterClient,
    addr: &str,
    name: &str,
    consistent: bool,
) -> Option<u64> {
    let pools = client
        .query_node(addr, &Query::Pools, consistent)
        .await
        .expect("query");
    pools
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["slots"].as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_node_reads_and_writes_and_restarts_keep_everything() {
    let mut cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
    )
    .expect("start the cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let followers: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let direct = ClusterClient::new(vec![]);

    // Each node's HTTP /health says what it is.
    let health = http_get(&cluster.node(leader).http, "/health");
    assert!(health.contains("\"role\":\"leader\""), "{health}");
    let health = http_get(&cluster.node(followers[0]).http, "/health");
    assert!(health.contains("\"role\":\"follower\""), "{health}");
    assert!(
        health.contains(&format!("\"leader_id\":{leader}")),
        "{health}"
    );
    let members = http_get(&cluster.node(followers[1]).http, "/cluster");
    assert_eq!(members.matches("\"role\"").count(), 3, "{members}");
    assert!(!members.contains("\"error\""), "{members}");

    // Only the leader knows the workers; a follower's /workers asks it.
    let worker_dir = tempfile::tempdir().expect("tempdir");
    let mut worker = cluster
        .spawn_worker("reads-worker", worker_dir.path(), &["--slots", "3"])
        .expect("a worker");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = http_get(&cluster.node(followers[1]).http, "/api/v1/workers");
        if listed.contains("\"worker_id\":\"reads-worker\"") {
            assert!(listed.contains("\"slots\":3"), "{listed}");
            assert!(
                listed.contains(&format!("\"leader_id\":{leader}")),
                "{listed}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a follower never listed the worker: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = worker.kill();
    let _ = worker.wait();

    // A write sent to a follower only is forwarded: one answer, committed.
    let via_follower = ClusterClient::new(vec![cluster.node(followers[0]).grpc.clone()]);
    let reply = via_follower
        .propose(&[Command::set_pool("forwarded", 7)])
        .await
        .expect("forwarded write");
    assert!(reply.results[0].is_ok());

    // A follower's consistent read right after a write sees it, every time.
    for round in 0..20u32 {
        let name = format!("fresh-{round}");
        cluster
            .client_via(leader)
            .propose(&[Command::set_pool(&name, round)])
            .await
            .expect("write");
        let follower = &cluster.node(followers[(round % 2) as usize]).grpc;
        assert_eq!(
            pool_slots(&direct, follower, &name, true).await,
            Some(u64::from(round))
        );
    }
    assert_eq!(
        pool_slots(&direct, &cluster.node(followers[1]).grpc, "forwarded", true).await,
        Some(7)
    );

    // A refused command comes back as a result, not an error, from any node.
    let refused = via_follower
        .propose(&[Command::DeletePool {
            name: "default_pool".into(),
        }])
        .await
        .expect("answered");
    assert!(
        refused.results[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("cannot be deleted")
    );

    // SIGTERM: every node exits 0; started again, they are the same cluster with the
    // same data (nothing re-initialized).
    let before = cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("converged");
    let digests_before = cluster.digests().await.expect("digests");
    assert!(
        digests_before
            .iter()
            .all(|(_, d)| d == &digests_before[0].1),
        "{digests_before:?}"
    );
    let pools_before = direct
        .query_node(&cluster.node(1).grpc, &Query::Pools, false)
        .await
        .expect("pools");
    for id in 1..=3 {
        cluster.signal(id, "TERM").expect("SIGTERM");
        let status = cluster
            .wait_exit(id, Duration::from_secs(20))
            .expect("exit");
        assert!(status.success(), "node {id} exited with {status}");
    }
    for id in 1..=3 {
        cluster.spawn(id).expect("start the node");
    }
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    // The new leader's first entry is a blank one; nothing else changed.
    cluster
        .client()
        .propose(&[Command::set_pool("after-restart", 1)])
        .await
        .expect("write after restart");
    let after = cluster
        .wait_converged(before + 1, Duration::from_secs(30))
        .await
        .expect("converged");
    assert!(after > before);
    for id in 1..=3 {
        assert_eq!(
            pool_slots(&direct, &cluster.node(id).grpc, "fresh-19", false).await,
            Some(19)
        );
        assert_eq!(
            pool_slots(&direct, &cluster.node(id).grpc, "after-restart", false).await,
            Some(1)
        );
    }
    let digests_after = cluster.digests().await.expect("digests");
    assert!(digests_after.iter().all(|(_, d)| d == &digests_after[0].1));
    // Every pool from before the restart is still there, unchanged, on every node;
    // the only new one is the write made after it.
    for id in 1..=3 {
        let pools = direct
            .query_node(&cluster.node(id).grpc, &Query::Pools, false)
            .await
            .expect("pools");
        let without_new: Vec<&serde_json::Value> = pools
            .as_array()
            .expect("a list")
            .iter()
            .filter(|p| p["name"] != "after-restart")
            .collect();
        let before: Vec<&serde_json::Value> =
            pools_before.as_array().expect("a list").iter().collect();
        assert_eq!(without_new, before, "node {id} changed across the restart");
    }
    for id in 1..=3 {
        let status = cluster.status(id).await.expect("status");
        assert_eq!(
            status.members.len(),
            3,
            "membership changed on restart: {status:?}"
        );
    }
}

/// A plain HTTP/1.1 GET; returns the whole response.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}
