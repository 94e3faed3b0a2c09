//! The Raft format on real processes: a cluster writing JSON (as versions before
//! the binary format did, `--raft-format json`) is moved to the binary format one
//! node at a time while writes go on; nodes of both formats replicate to each
//! other, every node reads back a log holding entries of both, and all end with
//! the same state.

use std::path::Path;
use std::time::Duration;

use kairos_state::Command;
use kairos_testkit::{CALM_TIMINGS, Cluster};

async fn write_pools(cluster: &Cluster, from: u32, to: u32) {
    let client = cluster.client();
    for i in from..to {
        let reply = client
            .propose(&[Command::set_pool(format!("p{i}"), i)])
            .await
            .unwrap_or_else(|e| panic!("write {i}: {e}\n{}", cluster.logs()));
        assert!(reply.results[0].is_ok(), "{reply:?}");
    }
}

async fn assert_same_state(cluster: &Cluster, at_least: u64) {
    cluster
        .wait_converged(at_least, Duration::from_secs(60))
        .await
        .expect("converged");
    let digests = cluster.digests().await.expect("digests");
    assert!(
        digests.windows(2).all(|w| w[0].1 == w[1].1),
        "every node holds the same state: {digests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_cluster_moves_to_the_binary_format_one_node_at_a_time() {
    let flags = [&CALM_TIMINGS[..], &["--raft-format", "json"]].concat();
    let mut cluster =
        Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &flags).expect("cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    write_pools(&cluster, 0, 20).await;
    let mut written = 20;
    for id in 1..=3u64 {
        cluster.kill(id);
        let node = &mut cluster.nodes[(id - 1) as usize];
        for flag in node.extra.iter_mut().filter(|f| *f == "json") {
            *flag = "binary".to_string();
        }
        cluster.spawn(id).expect("restart");
        cluster
            .wait_leader(Duration::from_secs(30))
            .await
            .expect("a leader");
        // Writes while the formats are mixed.
        write_pools(&cluster, written, written + 20).await;
        written += 20;
        assert_same_state(&cluster, 0).await;
    }
    // Each node's log now holds entries of both formats: read back at restart.
    let applied = cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    for id in 1..=3u64 {
        cluster.kill(id);
        cluster.spawn(id).expect("restart");
    }
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    write_pools(&cluster, written, written + 5).await;
    assert_same_state(&cluster, applied + 5).await;
    let pools = cluster
        .client()
        .query(&kairos_state::Query::Pools, true)
        .await
        .expect("pools");
    assert_eq!(
        pools.as_array().map(Vec::len),
        Some(written as usize + 5 + 1),
        "every pool written, and default_pool: {pools}"
    );
}
