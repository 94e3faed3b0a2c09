//! `kairos server` and `kairos worker` read each setting from a flag, a `KAIROS_*`
//! variable or their table of `kairos.toml`, flags first, then variables, then
//! the file; a bad variable is named. Each case is a configuration that is
//! refused, so nothing starts: which refusal comes shows which layer won.

use std::path::Path;
use std::process::Command;

const KAIROS: &str = env!("CARGO_BIN_EXE_kairos");

/// Runs `kairos` with exactly these `KAIROS_*` variables (the test's own are
/// removed) in `dir`; returns whether it succeeded and its stderr.
fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(KAIROS);
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KAIROS_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().copied());
    let output = command.output().expect("run kairos");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A `kairos.toml` in a fresh directory, holding both tables as one machine would.
fn shared_file(server: &str, worker: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kairos.toml"),
        format!("[server]\n{server}\n[worker]\n{worker}\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_bad_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, err) = run(dir.path(), &["server"], &[("KAIROS_NODE_ID", "one")]);
    assert!(!ok);
    assert!(err.contains("KAIROS_NODE_ID"), "{err}");
    let (ok, err) = run(dir.path(), &["worker"], &[("KAIROS_SLOTS", "many")]);
    assert!(!ok);
    assert!(err.contains("KAIROS_SLOTS"), "{err}");
    let (ok, err) = run(dir.path(), &["worker"], &[("KAIROS_ENVS", "python3")]);
    assert!(!ok);
    assert!(err.contains("NAME=PATH"), "{err}");
}

#[test]
fn server_flags_beat_variables_beat_the_file() {
    let dir = shared_file("node_id = 1\ndata_dir = \"never-created\"", "slots = 2");
    // The variable beats the file's node_id = 1.
    let (ok, err) = run(dir.path(), &["server"], &[("KAIROS_NODE_ID", "0")]);
    assert!(!ok);
    assert!(err.contains("node ids start at 1"), "{err}");
    // The flag beats the variable.
    let (ok, err) = run(
        dir.path(),
        &["server", "--node-id", "0"],
        &[("KAIROS_NODE_ID", "2")],
    );
    assert!(!ok);
    assert!(err.contains("node ids start at 1"), "{err}");
    // The file is read (its [worker] table left alone): its heartbeat is too slow
    // for the lease given by a variable.
    let dir = shared_file(
        "node_id = 1\ndata_dir = \"never-created\"\nworker_heartbeat_ms = 20000",
        "slots = 2",
    );
    let (ok, err) = run(
        dir.path(),
        &["server"],
        &[("KAIROS_WORKER_LEASE_MS", "30000")],
    );
    assert!(!ok);
    assert!(err.contains("at most half the worker lease"), "{err}");
    assert!(!dir.path().join("never-created").exists());
}

#[test]
fn worker_flags_beat_variables_beat_the_file() {
    let dir = shared_file("node_id = 1", "slots = 2\nservers = \"localhost\"");
    // The file's servers are read (its [server] table left alone).
    let (ok, err) = run(dir.path(), &["worker"], &[]);
    assert!(!ok);
    assert!(err.contains("HOST:PORT"), "{err}");
    // The variable beats the file; the flag beats the variable.
    let (ok, err) = run(
        dir.path(),
        &["worker", "--servers", "127.0.0.1:7071"],
        &[("KAIROS_SLOTS", "0")],
    );
    assert!(!ok);
    assert!(err.contains("at least 1"), "{err}");
    let (ok, err) = run(
        dir.path(),
        &["worker", "--servers", "127.0.0.1:7071", "--slots", "0"],
        &[("KAIROS_SLOTS", "3")],
    );
    assert!(!ok);
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn help_names_every_variable() {
    let dir = tempfile::tempdir().unwrap();
    let help = |command: &str| {
        let output = Command::new(KAIROS)
            .args([command, "--help"])
            .current_dir(dir.path())
            .output()
            .expect("run kairos");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let server = help("server");
    for var in [
        "KAIROS_NODE_ID",
        "KAIROS_DATA_DIR",
        "KAIROS_PEERS",
        "KAIROS_WORKER_TOKEN_FILE",
        "KAIROS_PEER_ROUTES",
    ] {
        assert!(server.contains(&format!("[env: {var}")), "{var}:\n{server}");
    }
    let worker = help("worker");
    for var in [
        "KAIROS_SERVERS",
        "KAIROS_ENVS",
        "KAIROS_TEAMS",
        "KAIROS_WORKER_DIR",
        "KAIROS_ATTEMPT_LOG",
    ] {
        assert!(worker.contains(&format!("[env: {var}")), "{var}:\n{worker}");
    }
}
