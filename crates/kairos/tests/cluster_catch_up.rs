//! A follower that was down while the leader committed large entries catches up
//! when it returns. Openraft gives an AppendEntries one heartbeat interval; before
//! the network cut them to a byte budget, the leader sent a returning follower up to
//! 32 entries of up to 1 MiB at once, timed out, and sent the same again for ever.

use std::time::Duration;

use kairos_state::Command;
use kairos_state::records::PoolRecord;
use kairos_testkit::{CALM_TIMINGS, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_far_behind_catches_up_through_large_entries() {
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
    let away = if leader == 3 { 2 } else { 3 };
    cluster.kill(away);

    // About 12 MiB in entries of about half a MiB each.
    let client = cluster.client_via(leader);
    for batch in 0..24u32 {
        let commands: Vec<Command> = (0..1000u32)
            .map(|i| Command::SetPool {
                pool: PoolRecord {
                    name: format!("p{batch}-{i}"),
                    slots: i,
                    description: Some("x".repeat(480)),
                    include_deferred: false,
                    team: None,
                },
            })
            .collect();
        let reply = client.propose(&commands).await.expect("write");
        assert!(reply.results.iter().all(|r| r.is_ok()));
    }
    let target = cluster
        .status(leader)
        .await
        .expect("leader status")
        .last_applied;

    cluster.spawn(away).expect("restart");
    let applied = cluster
        .wait_converged(target, Duration::from_secs(90))
        .await
        .expect("the returning follower catches up");
    assert!(applied >= target);
    let digests = cluster.digests().await.expect("digests");
    assert_eq!(digests.len(), 3);
    assert!(
        digests.iter().all(|(_, d)| d == &digests[0].1),
        "{digests:?}"
    );
}
