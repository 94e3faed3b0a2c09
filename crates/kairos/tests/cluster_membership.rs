//! A cluster made by hand: `cluster init` on one node, then `add-node` twice at the
//! same time (membership changes are serialized), and an init that is refused
//! because the node already belongs to a cluster.

use std::time::Duration;

use kairos_proto::v1::Member;
use kairos_server::ClusterClient;
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_then_add_nodes_one_change_at_a_time() {
    let cluster = Cluster::start_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
        false,
    )
    .expect("start the servers");
    // Nobody initializes a cluster on their own.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in 1..=3 {
        let status = cluster.status(id).await.expect("status");
        assert!(!status.initialized && status.leader_id == 0, "{status:?}");
    }

    let (ok, out, err) = cluster
        .cluster_cli(&cluster.node(1).http, &["init"])
        .expect("run kairos cluster init");
    assert!(ok, "{out}{err}");
    // Node 1 alone is the cluster (the others are not members yet): it leads.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cluster.status(1).await.map(|s| s.role) != Some("leader".to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "node 1 did not lead:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = ClusterClient::new(vec![cluster.node(1).grpc.clone()]);
    for i in 0..50u32 {
        client
            .propose(&[Command::set_pool(format!("p{i}"), i)])
            .await
            .expect("write");
    }

    // Refused before Raft sees them: the only voter removed, a node under the
    // leader's own address (Raft would send the leader its own entries and stop), an
    // address where nobody answers, and a node that is not the one named.
    let (ok, _, err) = cluster
        .cluster_cli(&cluster.node(1).http, &["remove-node", "--node-id", "1"])
        .expect("run kairos cluster remove-node");
    assert!(!ok && err.contains("the only voter"), "{err}");
    let member = |id: u64| Member {
        node_id: id,
        grpc_addr: cluster.node(id).grpc.clone(),
        http_addr: cluster.node(id).http.clone(),
        voter: true,
    };
    let refused = |id: u64, addr: String| {
        let client = &client;
        async move {
            client
                .add_node(Member {
                    node_id: id,
                    grpc_addr: addr,
                    http_addr: String::new(),
                    voter: true,
                })
                .await
                .expect_err("refused")
                .to_string()
        }
    };
    let err = refused(9, cluster.node(1).grpc.clone()).await;
    assert!(err.contains("is node 1's address"), "{err}");
    let nowhere = kairos_testkit::free_addr().expect("port");
    let err = refused(4, nowhere).await;
    assert!(err.contains("no node answers"), "{err}");
    let err = refused(7, cluster.node(3).grpc.clone()).await;
    assert!(err.contains("is node 3, not node 7"), "{err}");
    assert_eq!(cluster.status(1).await.expect("status").members.len(), 1);

    // Two additions at once, each sent to the leader: both end as voters.
    let (two, three) = tokio::join!(client.add_node(member(2)), client.add_node(member(3)));
    two.expect("add node 2");
    three.expect("add node 3");
    let status = cluster.status(1).await.expect("status");
    assert_eq!(status.members.len(), 3, "{status:?}");
    assert!(status.members.iter().all(|m| m.voter), "{status:?}");
    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    let pools = ClusterClient::new(vec![])
        .query_node(&cluster.node(3).grpc, &Query::Pools, false)
        .await
        .expect("pools");
    assert_eq!(
        pools.as_array().expect("list").len(),
        51,
        "50 pools and the default pool"
    );

    // A second init is refused and changes nothing.
    let (ok, _, err) = cluster
        .cluster_cli(&cluster.node(2).http, &["init"])
        .expect("run kairos cluster init");
    assert!(!ok);
    assert!(
        err.contains("already belongs to an initialized cluster"),
        "{err}"
    );
    assert_eq!(cluster.status(2).await.expect("status").members.len(), 3);

    // Removing an unknown node says so.
    let (ok, _, err) = cluster
        .cluster_cli(&cluster.node(2).http, &["remove-node", "--node-id", "9"])
        .expect("run kairos cluster remove-node");
    assert!(!ok);
    assert!(err.contains("node 9 is not a member"), "{err}");
}
