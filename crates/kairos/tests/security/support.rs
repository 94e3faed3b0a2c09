//! What the attacks share: a cluster with a DAG to attack, raw gRPC clients
//! (an attacker speaks the protocol, not through Kairos's own clients), and the
//! check that the cluster still serves afterwards.

use std::path::Path;
use std::time::{Duration, Instant};

use kairos_proto::v1::worker_client::WorkerClient;
use kairos_proto::v1::{Assignment, PollRequest, RegisterRequest};
use kairos_server::ClusterClient;
use kairos_state::Command;
use kairos_testkit::{CALM_TIMINGS, Cluster};
use tonic::transport::Channel;

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kairos"))
}

/// A three-node plain-text cluster with a leader.
pub async fn cluster() -> Cluster {
    let cluster = Cluster::start(binary(), 3, &CALM_TIMINGS).expect("start the servers");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    cluster
}

/// A raw gRPC channel to `addr`.
pub async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("an address")
        .connect()
        .await
        .expect("connect")
}

/// The leader's worker service, raw.
pub async fn worker_client(cluster: &Cluster) -> WorkerClient<Channel> {
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    WorkerClient::new(channel(&cluster.node(leader).grpc).await)
}

/// Registers `id` for the default queue.
pub async fn register(client: &mut WorkerClient<Channel>, id: &str) {
    client
        .register(RegisterRequest {
            worker_id: id.into(),
            queues: vec!["default".into()],
            slots: 4,
            ..Default::default()
        })
        .await
        .expect("register");
}

/// Polls as `id` until an attempt is handed over.
pub async fn poll_one(client: &mut WorkerClient<Channel>, id: &str) -> Assignment {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = client
            .poll(PollRequest {
                worker_id: id.into(),
                free_slots: 1,
                wait_ms: 500,
                known_attempts: vec![],
            })
            .await
            .expect("poll")
            .into_inner();
        if let Some(task) = reply.tasks.into_iter().next() {
            return task;
        }
        assert!(Instant::now() < deadline, "no attempt was handed over");
    }
}

/// Pushes a one-task DAG `dag_id` and triggers run `run_id` of it.
pub async fn one_task_run(cluster: &Cluster, dag_id: &str, run_id: &str) {
    let yaml = format!(
        "{dag_id}:\n  schedule: null\n  tasks:\n    only:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo hi\n"
    );
    let client = cluster.client();
    client
        .propose(&[
            kairos_testkit::put_dag_command(&yaml).expect("a DAG"),
            Command::SetPaused {
                dag_id: dag_id.into(),
                is_paused: false,
            },
        ])
        .await
        .expect("push and unpause");
    client
        .propose(&[Command::manual_run(dag_id, run_id, "attacker-test")])
        .await
        .expect("trigger");
}

/// Every node answers, and a write still commits and reaches all of them.
pub async fn still_serving(cluster: &Cluster, tag: &str) {
    let client = ClusterClient::new(cluster.addrs());
    client
        .propose(&[Command::set_pool(format!("after-{tag}"), 1)])
        .await
        .unwrap_or_else(|e| panic!("no write commits after {tag}: {e}\n{}", cluster.logs()));
    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("the nodes did not converge after {tag}: {e}"));
}
