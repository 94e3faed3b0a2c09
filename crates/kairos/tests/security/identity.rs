//! Cluster identity with real servers: the first leader names the cluster and every
//! node records the name beside its data; a data dir started under another node id
//! refuses to start; a node whose data dir was copied from another cluster is
//! refused by its peers and never takes their entries.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use kairos_server::ClusterClient;
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kairos"))
}

/// Waits until every node of `cluster` names the same cluster id, and returns it.
async fn cluster_id(cluster: &Cluster) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut ids = Vec::new();
        for node in &cluster.nodes {
            if node.child.is_some() {
                ids.push(cluster.status(node.id).await.map(|s| s.cluster_id));
            }
        }
        if let Some(Some(first)) = ids.first() {
            if !first.is_empty() && ids.iter().all(|id| id.as_ref() == Some(first)) {
                return first.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the nodes never agreed on a cluster id: {ids:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a server on node 3's data dir as node `node_id` with `flags`, expects it
/// to refuse to start, and returns what it said.
fn refused_start(cluster: &Cluster, node_id: u64, flags: &[&str]) -> String {
    let out = Process::new(binary())
        .args(["server", "--node-id", &node_id.to_string(), "--data-dir"])
        .arg(&cluster.node(3).data_dir)
        .args(flags)
        .args(["--grpc-addr", &kairos_testkit::free_addr().expect("a port")])
        .args(["--http-addr", &kairos_testkit::free_addr().expect("a port")])
        .arg("--config")
        .arg(cluster.path().join("no-such-kairos.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("run kairos server");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "it started: {stderr}");
    stderr
}

fn recorded(data_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data_dir.join("identity.json")).expect("identity.json");
    serde_json::from_str(&text).expect("identity.json is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_named_and_its_data_dirs_keep_their_node_and_cluster() {
    let mut a = Cluster::start(binary(), 3, &CALM_TIMINGS).expect("start cluster a");
    a.wait_leader(Duration::from_secs(30))
        .await
        .expect("a leads");
    let a_id = cluster_id(&a).await;
    assert_eq!(a_id.len(), 16, "{a_id}");
    for node in &a.nodes {
        let identity = recorded(&node.data_dir);
        assert_eq!(identity["node_id"], node.id, "{identity}");
        assert_eq!(identity["cluster_id"], a_id.as_str(), "{identity}");
    }

    // Node 3's data dir started as node 2: refused, with what to do instead.
    a.kill(3);
    let stderr = refused_start(&a, 2, &["--insecure"]);
    assert!(
        stderr.contains("belongs to node 3") && stderr.contains("--node-id 3"),
        "{stderr}"
    );

    // Node 3's data dir started with a certificate of another cluster (another
    // CA): refused, naming both clusters.
    let other = kairos_testkit::certs::TestCerts::new(&a.path().join("other-ca")).expect("a CA");
    let tls = kairos_testkit::certs::flags(&other.server(3).expect("a cert"));
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let stderr = refused_start(&a, 3, &tls);
    assert!(
        stderr.contains(&format!("belongs to cluster `{a_id}`"))
            && stderr.contains(&format!("`{}`", other.cluster())),
        "{stderr}"
    );

    // Another cluster, and its node 3's data dir copied over a's node 3.
    let mut b = Cluster::start(binary(), 3, &CALM_TIMINGS).expect("start cluster b");
    b.wait_leader(Duration::from_secs(30))
        .await
        .expect("b leads");
    let b_id = cluster_id(&b).await;
    assert_ne!(a_id, b_id);
    b.kill(3);
    std::fs::remove_dir_all(&a.node(3).data_dir).expect("remove a's node 3 data");
    copy_dir(&b.node(3).data_dir, &a.node(3).data_dir);
    drop(b);
    a.spawn(3).expect("restart a's node 3 on b's data");

    // a's leader keeps committing with two nodes; node 3 stays b's and never takes
    // a's entries (a's Raft calls carry a's id and node 3 refuses them).
    let client = ClusterClient::new(vec![a.node(1).grpc.clone(), a.node(2).grpc.clone()]);
    for i in 0..20u32 {
        client
            .propose(&[Command::set_pool(format!("after-copy-{i}"), 1)])
            .await
            .expect("a still commits");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = a.status(3).await {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "node 3 never answered\n{}",
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.cluster_id, b_id, "{status:?}");
    // Give a's leader time to try: a heartbeat is 100 ms, these are seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pools = ClusterClient::new(vec![])
        .query_node(&a.node(3).grpc, &Query::Pools, false)
        .await
        .expect("node 3 reads");
    let text = pools.to_string();
    assert!(
        !text.contains("after-copy"),
        "node 3 took a's entries: {text}"
    );
    let logs = a.logs();
    assert!(
        logs.contains(&format!("this node belongs to cluster `{b_id}`")),
        "no refusal in the logs:\n{logs}"
    );
    assert_eq!(recorded(&a.node(3).data_dir)["cluster_id"], b_id.as_str());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
