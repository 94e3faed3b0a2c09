//! Mutual TLS end to end (issue 16): three `kairos server`s and a `kairos worker`
//! with certificates from `kairos_tls::issue` run a DAG; the CLI and REST over
//! HTTPS work with a client certificate; and each port refuses what it must: no
//! certificate, a certificate of another CA, a worker certificate on Raft or
//! Cluster, a client certificate on Worker, a worker acting as another worker,
//! a worker certificate on the REST API.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{DagRunRecord, TaskInstanceRecord};
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};
/// What a TLS port answers to the opening of a plain-text HTTP/2 connection: a TLS
/// alert or nothing, where a plain server would send a SETTINGS frame.
fn plain_http2_answer(addr: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // An empty SETTINGS frame, as every HTTP/2 client sends after the preface.
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let _ = stream.write_all(&hello);
    let mut answer = vec![0u8; 64];
    let n = stream.read(&mut answer).unwrap_or(0);
    answer.truncate(n);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_runs_a_dag_and_refuses_every_wrong_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = Cluster::start_tls(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &CALM_TIMINGS)
        .expect("start the cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader elected over TLS");

    // A plain-text HTTP/2 client gets no HTTP/2 answer from the gRPC port.
    let answer = plain_http2_answer(&cluster.node(1).grpc);
    assert!(
        !(answer.len() >= 9 && answer[3] == 0x04),
        "the gRPC port answered plain HTTP/2 with SETTINGS: {answer:?}"
    );
    // The CLI (over the HTTP API) sees every member: each node asks the others over TLS.
    let (ok, out, err) = cluster
        .cluster_cli(&cluster.node(1).http, &["status"])
        .expect("kairos cluster status");
    assert!(
        ok && out.contains("leader: node") && !out.contains("unreachable"),
        "{out}\n{err}"
    );

    let client = cluster.client();
    let dag = "tls_dag:\n  schedule: null\n  is_paused_upon_creation: false\n  tasks:\n    hello: {operator: bash, bash_command: 'echo over tls'}\n";
    client
        .propose(&[put_dag_command(dag).expect("a valid DAG")])
        .await
        .expect("push");
    client
        .propose(&[Command::manual_run("tls_dag", "r1", "test")])
        .await
        .expect("trigger");
    let log = dir.path().join("worker.log");
    let mut worker = Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(["worker", "--servers", &cluster.addrs().join(",")])
        .args(["--http-addr", "127.0.0.1:0"])
        .args(
            cluster
                .worker_tls_flags("tls-worker")
                .expect("worker certificate"),
        )
        .arg("--data-dir")
        .arg(dir.path().join("worker"))
        .arg("--config")
        .arg(dir.path().join("no-such-kairos.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start the worker");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run: Option<DagRunRecord> = serde_json::from_value(
            client
                .query(
                    &Query::Run {
                        dag_id: "tls_dag".into(),
                        run_id: "r1".into(),
                    },
                    true,
                )
                .await
                .expect("query"),
        )
        .expect("a run");
        if run.is_some_and(|r| r.state == DagRunState::Success) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the task did not run over TLS:\n{}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = worker.kill();
    let _ = worker.wait();
    let tis: Vec<TaskInstanceRecord> = serde_json::from_value(
        client
            .query(
                &Query::TaskInstances {
                    dag_id: "tls_dag".into(),
                    run_id: "r1".into(),
                    after: None,
                    limit: None,
                },
                true,
            )
            .await
            .expect("query"),
    )
    .expect("task instances");
    assert_eq!(tis[0].state, S::Success);
    // The worker id is the one its certificate names (no --worker-id given).
    assert_eq!(tis[0].worker.as_deref(), Some("tls-worker"));

    // REST over HTTPS with the client certificate: the CLI lists the run.
    let (ok, out, err) = cli(&cluster, &["runs", "list", "tls_dag"]);
    assert!(ok && out.contains("r1"), "{out}\n{err}");
    refusals(&cluster).await;
}

/// `kairos ARGS --server NODE1 <client certificate flags>`.
fn cli(cluster: &Cluster, args: &[&str]) -> (bool, String, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .args(["--server", &cluster.node(1).http])
        .args(cluster.cli_tls_flags().expect("client certificate"))
        .output()
        .expect("run kairos");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `call`, which must answer within 20 s (a refusal is an answer; a hang is a
/// failure naming `what`).
async fn answer<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
}

/// Each wrong caller is refused, and the cluster still serves afterwards.
async fn refusals(cluster: &Cluster) {
    use kairos_proto::v1::raft_client::RaftClient;
    use kairos_proto::v1::worker_client::WorkerClient;
    use kairos_proto::v1::{RaftPayload, RegisterRequest};
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tonic::Code;

    let certs = cluster.certs.as_ref().expect("a TLS cluster");
    let addr = cluster.node(1).grpc.clone();
    let load = |files| kairos_tls::Tls::load(files).expect("load certificate");
    let channel = |tls: &kairos_tls::Tls| {
        kairos_raft::network::channel_to(&Mutex::new(HashMap::new()), &addr, Some(tls))
            .expect("channel")
    };
    let worker = load(certs.worker("w-a").expect("worker cert"));
    let client = load(certs.client_files("mallory").expect("client cert"));

    // A worker certificate calling Raft: refused.
    let mut raft = RaftClient::new(channel(&worker));
    let vote = raft.vote(RaftPayload {
        json: b"{}".to_vec(),
    });
    let err = answer("Raft with a worker cert", vote).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message().contains("server certificates only"),
        "{err:?}"
    );
    // A worker certificate calling Cluster: refused.
    let as_worker =
        kairos_server::ClusterClient::new(vec![addr.clone()]).with_tls(Some(worker.clone()));
    let err = answer("Cluster with a worker cert", as_worker.status(&addr))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("server and client certificates only"),
        "{err}"
    );
    // A client certificate calling Worker: refused.
    let register = |id: &str| RegisterRequest {
        worker_id: id.to_string(),
        queues: vec!["default".into()],
        slots: 1,
        ..Default::default()
    };
    let mut as_client = WorkerClient::new(channel(&client));
    let err = answer(
        "Worker with a client cert",
        as_client.register(register("w-a")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // A worker certificate acting as another worker: refused.
    let mut as_w_a = WorkerClient::new(channel(&worker));
    let err = answer("w-a registering as w-b", as_w_a.register(register("w-b")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message().contains("cannot act as worker `w-b`"),
        "{err:?}"
    );

    // A client certificate of another CA (another cluster): no connection.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = kairos_testkit::certs::TestCerts::new(other_dir.path()).expect("other CA");
    let foreign = other.client("admin").expect("foreign client");
    let foreigner = kairos_server::ClusterClient::new(vec![addr.clone()])
        .with_tls(Some(foreign))
        .with_patience(Duration::from_millis(500));
    let err = answer("another CA's client", foreigner.status(&addr))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());

    // HTTPS without a client certificate: the handshake fails.
    let ca = reqwest::Certificate::from_pem(certs.ca.cert_pem().as_bytes()).expect("CA");
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let url = format!("https://{}/health", cluster.node(1).http);
    assert!(
        answer("HTTPS without a certificate", bare.get(&url).send())
            .await
            .is_err(),
        "HTTPS without a certificate answered"
    );
    // A worker certificate on the REST API: 403, but for /health (a
    // container checks its node with the certificate it holds).
    let rest_as_worker = kairos_client::Client::builder(&cluster.node(1).http)
        .tls(Some(worker))
        .build()
        .expect("client");
    let err = answer("REST with a worker cert", rest_as_worker.cluster())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("client certificates only") || err.contains("403"),
        "{err}"
    );
    let health = answer("/health with a worker cert", rest_as_worker.health())
        .await
        .expect("a worker's certificate may ask /health");
    assert_eq!(health.node_id, 1);

    // Still serving the right callers.
    let (ok, out, err) = cli(cluster, &["cluster", "status"]);
    assert!(ok && out.contains("leader: node"), "{out}\n{err}");
}

/// The certificate node 1 serves on its HTTPS port to a new connection.
async fn served_certificate(cluster: &Cluster, client: &kairos_tls::Tls) -> Option<Vec<u8>> {
    let config = client.client_config(kairos_tls::Role::Server, kairos_tls::Alpn::Http);
    let tcp = tokio::net::TcpStream::connect(&cluster.node(1).http)
        .await
        .ok()?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").ok()?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .ok()?;
    let leaf = tls.get_ref().1.peer_certificates()?.first()?.to_vec();
    Some(leaf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_server_certificate_is_served_without_a_restart() {
    use rustls::pki_types::pem::PemObject;
    let mut cluster =
        Cluster::start_tls(Path::new(env!("CARGO_BIN_EXE_kairos")), 1, &[]).expect("start a node");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let certs = cluster.certs.as_ref().expect("TLS");
    let client = certs.client("rotator").expect("client cert");
    let before = served_certificate(&cluster, &client)
        .await
        .expect("a handshake");
    // `kairos certs server` again over the same files: a new key and certificate.
    let files = certs.server(1).expect("reissue");
    let pem = std::fs::read(&files.cert).expect("new cert");
    let new = rustls::pki_types::CertificateDer::from_pem_slice(&pem)
        .expect("PEM")
        .to_vec();
    assert_ne!(before, new);
    let pid = cluster.nodes[0].child.as_ref().expect("running").id();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if served_certificate(&cluster, &client).await.as_deref() == Some(new.as_slice()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same process, and it still serves Raft and the API with the new one.
    assert_eq!(cluster.nodes[0].child.as_ref().expect("running").id(), pid);
    let (ok, out, err) = cli(&cluster, &["cluster", "status"]);
    assert!(ok && out.contains("leader: node 1"), "{out}\n{err}");
    cluster.kill(1);
}
