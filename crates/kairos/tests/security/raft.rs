//! Attacks on the Raft port, speaking as a peer would: a snapshot whose second
//! chunk starts a terabyte in (the follower zero-filled the gap and aborted), and
//! a vote from a node of another cluster. Without a server certificate of the
//! cluster none of this reaches Raft at all (see `tls.rs`); these are the checks
//! that hold behind it, for a peer whose certificate is right but whose messages
//! are not.

use std::time::Duration;

use kairos_proto::v1::RaftPayload;
use kairos_proto::v1::raft_client::RaftClient;
use kairos_raft::types::{InstallSnapshotRequest, SnapshotMeta};
use openraft::Vote;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_chunk_past_what_was_sent_is_refused_and_the_node_lives() {
    let cluster = cluster().await;
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let follower = if leader == 1 { 2 } else { 1 };
    let term = cluster.status(follower).await.expect("status").term;
    let mut raft = RaftClient::new(channel(&cluster.node(follower).grpc).await);
    let chunk = |offset: u64, done: bool| {
        let request = InstallSnapshotRequest {
            // A vote the follower takes (a term ahead, committed), so the chunks
            // reach its snapshot buffer as a real leader's would.
            vote: Vote::new_committed(term + 10, leader),
            meta: SnapshotMeta {
                snapshot_id: "attack".into(),
                ..Default::default()
            },
            offset,
            data: vec![0; 16],
            done,
        };
        RaftPayload {
            json: serde_json::to_vec(&request).expect("JSON"),
        }
    };
    let first = raft.install_snapshot(chunk(0, false)).await;
    assert!(first.is_ok(), "the first chunk: {first:?}");
    let far = raft
        .install_snapshot(chunk(1 << 40, false))
        .await
        .expect_err("a chunk a terabyte past the first");
    assert_eq!(far.code(), tonic::Code::InvalidArgument, "{far:?}");
    assert!(far.message().contains("gap"), "{far:?}");
    // A new snapshot must start at 0.
    let elsewhere = raft
        .install_snapshot(RaftPayload {
            json: serde_json::to_vec(&InstallSnapshotRequest {
                vote: Vote::new_committed(term + 10, leader),
                meta: SnapshotMeta {
                    snapshot_id: "attack-2".into(),
                    ..Default::default()
                },
                offset: 1 << 40,
                data: vec![0; 16],
                done: true,
            })
            .expect("JSON"),
        })
        .await
        .expect_err("a snapshot starting a terabyte in");
    assert_eq!(
        elsewhere.code(),
        tonic::Code::InvalidArgument,
        "{elsewhere:?}"
    );
    // The follower is alive and, once the cluster elects past the forged term,
    // takes writes like the others.
    assert!(
        cluster.status(follower).await.is_some(),
        "{}",
        cluster.logs()
    );
    still_serving(&cluster, "the snapshot attack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_calls_from_another_cluster_are_refused() {
    let cluster = cluster().await;
    // The cluster names itself; wait for node 1 to know the name.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cluster
        .status(1)
        .await
        .map(|s| s.cluster_id)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "no cluster id");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let term = cluster.status(1).await.expect("status").term;
    let mut raft = RaftClient::new(channel(&cluster.node(1).grpc).await);
    let vote = openraft::raft::VoteRequest::<u64>::new(Vote::new(term + 100, 9), None);
    let mut request = tonic::Request::new(RaftPayload {
        json: serde_json::to_vec(&vote).expect("JSON"),
    });
    request
        .metadata_mut()
        .insert("kairos-cluster-id", "someone-else".parse().expect("ASCII"));
    let refused = raft
        .vote(request)
        .await
        .expect_err("a vote of another cluster");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("someone-else"), "{refused:?}");
    // The node's term did not move.
    assert!(cluster.status(1).await.expect("status").term < term + 100);
    still_serving(&cluster, "a vote of another cluster").await;
}
