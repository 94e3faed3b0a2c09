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

/// A backup: `kairos snapshot save` from a follower of a TLS cluster, the
/// whole cluster lost, `kairos snapshot restore` into a new data dir; the
/// restored node leads a cluster of one with every write of the backup, its
/// log continues after the backup's index, and an empty node added to it ends
/// equal to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_restored_from_a_saved_snapshot() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_kairos"));
    let mut cluster = Cluster::start_tls(binary, 3, &CALM_TIMINGS).expect("start the cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    for i in 0..200u32 {
        let reply = client
            .propose(&[Command::set_pool(format!("backup-{i:03}"), i)])
            .await
            .expect("write");
        assert!(reply.results[0].is_ok());
    }
    let saved_at = cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let file = cluster.dir.path().join("backup.snapshot");
    let cli = |args: &[&str]| cluster.cli(args).expect("kairos runs");
    let file_arg = file.display().to_string();
    let (ok, out, err) = cli(&[
        "snapshot",
        "save",
        &file_arg,
        "--server",
        &cluster.node(follower).http,
    ]);
    assert!(ok, "snapshot save: {out}{err}");
    // A second save never overwrites the first.
    let (ok, _, err) = cli(&[
        "snapshot",
        "save",
        &file_arg,
        "--server",
        &cluster.node(follower).http,
    ]);
    assert!(!ok && err.contains("cannot create"), "{err}");

    // Every node is lost.
    for id in 1..=3 {
        cluster.kill(id);
        std::fs::remove_dir_all(&cluster.node(id).data_dir).expect("wipe");
    }
    let node1 = cluster.node(1);
    let (data_dir, grpc, http) = (
        node1.data_dir.display().to_string(),
        node1.grpc.clone(),
        node1.http.clone(),
    );
    let restore = |dir: &str| {
        let out = std::process::Command::new(binary)
            .args([
                "snapshot",
                "restore",
                &file_arg,
                "--data-dir",
                dir,
                "--node-id",
                "1",
            ])
            .args(["--grpc-addr", &grpc, "--http-addr", &http])
            .output()
            .expect("kairos runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = restore(&data_dir);
    assert!(ok, "snapshot restore: {out}{err}");
    assert!(
        out.contains(&format!(
            "of cluster {}",
            cluster.certs.as_ref().unwrap().cluster()
        )),
        "{out}"
    );
    // Never over a data dir in use.
    let (ok, _, err) = restore(&data_dir);
    assert!(!ok && err.contains("is not empty"), "{err}");

    cluster.nodes[0].with_peers = false;
    cluster.spawn(1).expect("start the restored node");
    assert_eq!(
        cluster
            .wait_leader(Duration::from_secs(30))
            .await
            .expect("a leader"),
        1
    );
    let names = |pools: serde_json::Value| -> Vec<String> {
        pools
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .filter(|n| n.starts_with("backup-"))
            .map(str::to_string)
            .collect()
    };
    let restored = cluster
        .client()
        .query(&kairos_state::Query::Pools, true)
        .await
        .expect("pools");
    assert_eq!(names(restored).len(), 200);

    // The log goes on after the backup's index, and an empty node joins it.
    let reply = cluster
        .client()
        .propose(&[Command::set_pool("after-restore", 1)])
        .await
        .expect("a write after the restore");
    assert!(reply.results[0].is_ok());
    cluster.nodes[1].with_peers = false;
    cluster.spawn(2).expect("start an empty node");
    let (ok, out, err) = cluster
        .cluster_cli(
            &http,
            &[
                "add-node",
                "--node-id",
                "2",
                "--grpc-addr",
                &cluster.node(2).grpc.clone(),
            ],
        )
        .expect("run kairos cluster");
    assert!(ok, "add-node: {out}{err}\n{}", cluster.logs());
    let applied = cluster
        .wait_converged(saved_at + 1, Duration::from_secs(60))
        .await
        .expect("converged");
    assert!(
        applied > saved_at,
        "the log continued: {applied} after {saved_at}"
    );
    let digests = cluster.digests().await.expect("digests");
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0].1, digests[1].1, "{digests:?}");
}
