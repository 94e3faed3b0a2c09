//! TLS on the gRPC port: three servers serve TLS with a certificate from a test CA
//! and talk to each other over it; a `kairos worker` given the CA runs a task; a
//! plain-text client gets no answer from the gRPC port.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{DagRunRecord, TaskInstanceRecord};
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// Writes a CA and a certificate for 127.0.0.1 signed by it; returns the paths of
/// (CA, certificate, key).
fn certificates(dir: &Path) -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let path = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write PEM");
        p.display().to_string()
    };
    (
        path("ca.pem", ca.pem()),
        path("server.pem", cert.pem()),
        path("server.key", key.serialize_pem()),
    )
}

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
async fn a_tls_cluster_runs_a_worker_s_task_and_refuses_plain_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates(dir.path());
    kairos_server::client::use_tls(&std::fs::read(&ca).expect("CA")).expect("client TLS");
    let mut flags: Vec<&str> = CALM_TIMINGS.to_vec();
    flags.extend(["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", &ca]);
    let cluster = Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &flags)
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
        .args(["--worker-id", "tls-worker", "--http-addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("worker"))
        .args(["--tls-ca", &ca])
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
    assert_eq!(tis[0].worker.as_deref(), Some("tls-worker"));
}
