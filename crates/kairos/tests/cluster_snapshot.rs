//! A node whose data dir is lost is removed, wiped, started empty and added back: it
//! receives a snapshot (the log behind it is purged) and ends equal to the others.

use std::time::Duration;

use kairos_state::Command;
use kairos_state::records::PoolRecord;
use kairos_testkit::{CALM_TIMINGS, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_is_re_added_from_a_snapshot() {
    let mut cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &[
            &CALM_TIMINGS[..],
            &["--snapshot-every", "100", "--keep-behind-snapshot", "10"],
        ]
        .concat(),
    )
    .expect("start the cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    for i in 0..400u32 {
        let reply = client
            .propose(&[Command::SetPool {
                pool: PoolRecord {
                    name: format!("p{i}"),
                    slots: i,
                    description: Some("x".repeat(100)),
                    include_deferred: false,
                    team: None,
                },
            }])
            .await
            .expect("write");
        assert!(reply.results[0].is_ok());
    }
    let victim = if leader == 3 { 2 } else { 3 };
    // Out of the cluster, then its data is gone.
    let (ok, out, err) = cluster
        .cluster_cli(
            &cluster.node(leader).http,
            &["remove-node", "--node-id", &victim.to_string()],
        )
        .expect("run kairos cluster");
    assert!(ok, "remove-node failed: {out}{err}");
    cluster.kill(victim);
    std::fs::remove_dir_all(&cluster.node(victim).data_dir).expect("wipe");
    std::fs::remove_file(&cluster.node(victim).log).expect("fresh log");

    // More writes while it is away, so its snapshot must come from the leader's newest.
    for i in 400..450u32 {
        client
            .propose(&[Command::set_pool(format!("p{i}"), i)])
            .await
            .expect("write");
    }
    let leader_status = cluster.status(leader).await.expect("leader status");
    assert!(
        leader_status.purged_index > 0,
        "the leader should have purged its log behind a snapshot: {leader_status:?}"
    );

    // Started empty, without --peers: it waits to be added.
    cluster.nodes[(victim - 1) as usize].with_peers = false;
    cluster.spawn(victim).expect("start the node");
    let (ok, out, err) = cluster
        .cluster_cli(
            &cluster.node(leader).http,
            &[
                "add-node",
                "--node-id",
                &victim.to_string(),
                "--grpc-addr",
                &cluster.node(victim).grpc,
                "--http-addr",
                &cluster.node(victim).http,
            ],
        )
        .expect("run kairos cluster");
    assert!(ok, "add-node failed: {out}{err}\n{}", cluster.logs());
    assert!(out.contains("is a voter"), "{out}");

    cluster
        .wait_converged(leader_status.last_applied, Duration::from_secs(60))
        .await
        .expect("converged");
    let digests = cluster.digests().await.expect("digests");
    assert_eq!(digests.len(), 3);
    assert!(
        digests.iter().all(|(_, d)| d == &digests[0].1),
        "{digests:?}"
    );
    let victim_status = cluster.status(victim).await.expect("status");
    assert!(
        victim_status.snapshot_index > 0,
        "the re-added node should have installed a snapshot: {victim_status:?}"
    );
    assert_eq!(victim_status.role, "follower");
    let victim_log = std::fs::read_to_string(&cluster.node(victim).log).expect("node log");
    assert!(
        victim_log.contains("installed a snapshot from the leader"),
        "the re-added node should have received the leader's snapshot:\n{victim_log}"
    );

    // `cluster status` shows all three and the leader.
    let (ok, out, _) = cluster
        .cluster_cli(&cluster.node(victim).http, &["status"])
        .expect("run kairos cluster");
    assert!(ok);
    assert_eq!(
        out.lines().filter(|l| l.contains("127.0.0.1:")).count(),
        3,
        "{out}"
    );
    assert!(out.contains(&format!("leader: node {leader}")), "{out}");
}
