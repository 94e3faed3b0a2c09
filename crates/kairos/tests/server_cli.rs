//! `kairos server` and `kairos cluster` refuse bad input with a clear message.

use std::process::Command;

const KAIROS: &str = env!("CARGO_BIN_EXE_kairos");

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(KAIROS)
        .args(args)
        .env_remove("KAIROS_NODE_ID")
        .env_remove("KAIROS_DATA_DIR")
        .env_remove("KAIROS_PEERS")
        .output()
        .expect("run kairos");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_server_without_a_node_id_says_how_to_give_one() {
    let (ok, err) = run(&[
        "server",
        "--data-dir",
        "/tmp/never-used",
        "--config",
        "/nonexistent.toml",
    ]);
    assert!(!ok);
    assert!(
        err.contains("--node-id") && err.contains("KAIROS_NODE_ID"),
        "{err}"
    );
}

#[test]
fn bad_peers_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, err) = run(&[
        "server",
        "--node-id",
        "1",
        "--data-dir",
        data.to_str().unwrap(),
        "--peers",
        "1=127.0.0.1:7071,two=127.0.0.1:7072",
    ]);
    assert!(!ok);
    assert!(err.contains("ID=HOST:PORT"), "{err}");
    assert!(
        !data.exists(),
        "nothing should be created for a refused configuration"
    );
}

#[test]
fn a_bad_config_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(&file, "[server]\nnode_id = 1\ndata_dri = \"/x\"\n").unwrap();
    let (ok, err) = run(&["server", "--config", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("kairos.toml") && err.contains("data_dri"),
        "{err}"
    );
}

#[test]
fn cluster_status_without_a_server_fails_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ok, err) = run(&[
        "cluster",
        "status",
        "--server",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(!ok);
    assert!(err.contains("no server answered"), "{err}");
}
