//! Tests of the server's configuration: every setting's flag, variable and key, the
//! order of the layers, and the errors bad settings get.

use super::*;
use clap::builder::TypedValueParser;
use kairos_config_layers::Layer;

/// Every setting: its key in `[server]` (the field), its flag, its variable,
/// and a value of its type for a `kairos.toml`. The names are public (the
/// docs, scripts and deployments use them): this pins them.
const SETTINGS: [(&str, &str, &str, &str); 25] = [
    ("node_id", "node-id", "KAIROS_NODE_ID", "1"),
    ("data_dir", "data-dir", "KAIROS_DATA_DIR", "\"/d\""),
    (
        "grpc_addr",
        "grpc-addr",
        "KAIROS_GRPC_ADDR",
        "\"127.0.0.1:7071\"",
    ),
    (
        "http_addr",
        "http-addr",
        "KAIROS_HTTP_ADDR",
        "\"127.0.0.1:8081\"",
    ),
    (
        "advertise_grpc_addr",
        "advertise-grpc-addr",
        "KAIROS_ADVERTISE_GRPC_ADDR",
        "\"kairos-1:7071\"",
    ),
    (
        "advertise_http_addr",
        "advertise-http-addr",
        "KAIROS_ADVERTISE_HTTP_ADDR",
        "\"kairos-1:8081\"",
    ),
    ("peers", "peers", "KAIROS_PEERS", "\"1=127.0.0.1:7071\""),
    ("heartbeat_ms", "heartbeat-ms", "KAIROS_HEARTBEAT_MS", "50"),
    (
        "election_timeout_ms",
        "election-timeout-ms",
        "KAIROS_ELECTION_TIMEOUT_MS",
        "\"100-200\"",
    ),
    (
        "raft_format",
        "raft-format",
        "KAIROS_RAFT_FORMAT",
        "\"binary\"",
    ),
    (
        "snapshot_every",
        "snapshot-every",
        "KAIROS_SNAPSHOT_EVERY",
        "5000",
    ),
    (
        "keep_behind_snapshot",
        "keep-behind-snapshot",
        "KAIROS_KEEP_BEHIND_SNAPSHOT",
        "1000",
    ),
    (
        "worker_lease_ms",
        "worker-lease-ms",
        "KAIROS_WORKER_LEASE_MS",
        "30000",
    ),
    (
        "worker_heartbeat_ms",
        "worker-heartbeat-ms",
        "KAIROS_WORKER_HEARTBEAT_MS",
        "3000",
    ),
    (
        "retention_days",
        "retention-days",
        "KAIROS_RETENTION_DAYS",
        "30",
    ),
    (
        "retention_keep_last",
        "retention-keep-last",
        "KAIROS_RETENTION_KEEP_LAST",
        "100",
    ),
    (
        "retention_interval_s",
        "retention-interval-s",
        "KAIROS_RETENTION_INTERVAL_S",
        "60",
    ),
    (
        "worker_token_file",
        "worker-token-file",
        "KAIROS_WORKER_TOKEN_FILE",
        "\"/t\"",
    ),
    ("tls_cert", "tls-cert", "KAIROS_TLS_CERT", "\"/c.pem\""),
    ("tls_key", "tls-key", "KAIROS_TLS_KEY", "\"/k.pem\""),
    ("tls_ca", "tls-ca", "KAIROS_TLS_CA", "\"/ca.pem\""),
    ("insecure", "insecure", "KAIROS_INSECURE", "true"),
    (
        "api_token_file",
        "api-token-file",
        "KAIROS_API_TOKEN_FILE",
        "\"/a\"",
    ),
    (
        "variables_key_file",
        "variables-key-file",
        "KAIROS_VARIABLES_KEY_FILE",
        "\"/v\"",
    ),
    (
        "peer_routes",
        "peer-routes",
        "KAIROS_PEER_ROUTES",
        "\"2=127.0.0.1:9002\"",
    ),
];

fn command() -> clap::Command {
    <ConfigLayer as clap::Args>::augment_args(clap::Command::new("kairos-server"))
}

#[test]
fn every_setting_has_its_flag_variable_and_key() {
    let command = command();
    let declared: Vec<(String, String, String)> = command
        .get_arguments()
        .map(|arg| {
            (
                arg.get_id().to_string(),
                arg.get_long().unwrap_or_default().to_string(),
                arg.get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = SETTINGS
        .iter()
        .map(|(key, flag, var, _)| (key.to_string(), flag.to_string(), var.to_string()))
        .collect();
    assert_eq!(declared, expected);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    let table: String = SETTINGS
        .iter()
        .map(|(key, _, _, value)| format!("{key} = {value}\n"))
        .collect();
    std::fs::write(&file, format!("[server]\n{table}")).unwrap();
    let layer = ConfigLayer::from_file(&file).unwrap();
    assert_eq!(layer.node_id, Some(1));
    assert_eq!(layer.peer_routes.as_deref(), Some("2=127.0.0.1:9002"));
}

#[test]
fn flags_are_read_into_their_settings() {
    // Only the command line here: whatever KAIROS_* the test runs with is
    // left out.
    let command = command().mut_args(|arg| arg.env(None));
    let matches = command
        .clone()
        .try_get_matches_from([
            "kairos-server",
            "--node-id",
            "2",
            "--worker-lease-ms",
            "9000",
            "--peer-routes",
            "3=127.0.0.1:9003",
        ])
        .unwrap();
    let layer = <ConfigLayer as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
    assert_eq!(layer.node_id, Some(2));
    assert_eq!(layer.worker_lease_ms, Some(9000));
    assert_eq!(layer.peer_routes.as_deref(), Some("3=127.0.0.1:9003"));
    assert_eq!(layer.data_dir, None);
    let err = command
        .try_get_matches_from(["kairos-server", "--node-id", "one"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--node-id") && err.contains("one"), "{err}");
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(
        &file,
        "[server]\nnode_id = 3\ndata_dir = \"/from/file\"\nhttp_addr = \"127.0.0.1:9000\"\nheartbeat_ms = 80\n",
    )
    .unwrap();
    let flags = ConfigLayer {
        node_id: Some(1),
        ..ConfigLayer::default()
    };
    // What clap reads from KAIROS_NODE_ID=2 and KAIROS_DATA_DIR=/from/env (the
    // binary's own test, tests/config_layers.rs, sets real variables).
    let environment = ConfigLayer {
        node_id: Some(2),
        data_dir: Some("/from/env".into()),
        insecure: Some(true),
        ..ConfigLayer::default()
    };
    let config = flags
        .over(environment)
        .over(ConfigLayer::from_file(&file).unwrap())
        .resolve()
        .unwrap();
    assert_eq!(config.node_id, 1);
    assert_eq!(config.data_dir, PathBuf::from("/from/env"));
    assert_eq!(config.http_addr, "127.0.0.1:9000");
    assert_eq!(config.raft.heartbeat, Duration::from_millis(80));
    assert_eq!(config.grpc_addr, "127.0.0.1:7071");
}

#[test]
fn bad_settings_say_what_to_give() {
    let err = ConfigLayer::default().resolve().unwrap_err().to_string();
    assert!(err.contains("--node-id"), "{err}");
    let err = parse_peers("1=127.0.0.1:7071,x=foo")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ID=HOST:PORT"), "{err}");
    // A bad KAIROS_NODE_ID is refused by the argument that declares it,
    // naming the variable (tests/config_layers.rs sets it for real).
    let command = command();
    let node_id = command
        .get_arguments()
        .find(|arg| arg.get_id() == "node_id")
        .unwrap();
    let err = whole_number::<u64>()
        .parse_ref_(
            &command,
            Some(node_id),
            std::ffi::OsStr::new("one"),
            clap::parser::ValueSource::EnvVariable,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("KAIROS_NODE_ID"), "{err}");
    let layer = ConfigLayer {
        node_id: Some(1),
        data_dir: Some("/d".into()),
        insecure: Some(true),
        election_timeout_ms: Some("900-300".into()),
        ..ConfigLayer::default()
    };
    assert!(layer.resolve().unwrap_err().to_string().contains("MIN-MAX"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(&file, "[server]\nnode = 1\n").unwrap();
    let err = ConfigLayer::from_file(&file).unwrap_err().to_string();
    assert!(err.contains("kairos.toml") && err.contains("node"), "{err}");
}

#[test]
fn worker_settings_come_from_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# workers of team a\nalpha\n\n  beta  # team b\n").unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nworker_lease_ms = 9000\nworker_token_file = {:?}\n",
            tokens.display().to_string()
        ),
    )
    .unwrap();
    let base = ConfigLayer {
        node_id: Some(1),
        data_dir: Some("/d".into()),
        insecure: Some(true),
        ..ConfigLayer::default()
    };
    // What clap reads from KAIROS_WORKER_HEARTBEAT_MS=1000.
    let environment = ConfigLayer {
        worker_heartbeat_ms: Some(1000),
        ..ConfigLayer::default()
    };
    let config = base
        .clone()
        .over(environment)
        .over(ConfigLayer::from_file(&file).unwrap())
        .resolve()
        .unwrap();
    assert_eq!(config.scheduler.lease, Duration::from_millis(9000));
    assert_eq!(config.scheduler.heartbeat, Duration::from_millis(1000));
    assert_eq!(config.scheduler.worker_tokens, vec!["alpha", "beta"]);

    let slow = ConfigLayer {
        worker_heartbeat_ms: Some(20_000),
        ..base.clone()
    };
    let err = slow.resolve().unwrap_err().to_string();
    assert!(err.contains("at most half the worker lease"), "{err}");
    std::fs::write(&tokens, "# nothing here\n").unwrap();
    let empty = ConfigLayer {
        worker_token_file: Some(tokens.clone()),
        ..base
    };
    let err = empty.resolve().unwrap_err().to_string();
    assert!(err.contains("holds no token"), "{err}");
}

#[test]
fn tls_needs_certificate_key_and_ca_together_or_insecure() {
    let base = ConfigLayer {
        node_id: Some(3),
        data_dir: Some("/d".into()),
        ..ConfigLayer::default()
    };
    let err = base.clone().resolve().unwrap_err().to_string();
    assert!(
        err.contains("kairos certs server --node-id 3") && err.contains("--insecure"),
        "{err}"
    );
    let partial = ConfigLayer {
        tls_cert: Some("/c.pem".into()),
        tls_key: Some("/k.pem".into()),
        ..base.clone()
    };
    let err = partial.resolve().unwrap_err().to_string();
    assert!(err.contains("--tls-ca"), "{err}");
    let both = ConfigLayer {
        tls_cert: Some("/c.pem".into()),
        tls_key: Some("/k.pem".into()),
        tls_ca: Some("/ca.pem".into()),
        insecure: Some(true),
        ..base.clone()
    };
    assert!(both.resolve().unwrap_err().to_string().contains("not both"));
    let all = ConfigLayer {
        tls_cert: Some("/c.pem".into()),
        tls_key: Some("/k.pem".into()),
        tls_ca: Some("/ca.pem".into()),
        ..base.clone()
    };
    assert_eq!(
        all.resolve().unwrap().tls.unwrap().ca,
        PathBuf::from("/ca.pem")
    );
    let insecure = ConfigLayer {
        insecure: Some(true),
        ..base
    };
    assert!(insecure.resolve().unwrap().tls.is_none());
}

#[test]
fn peer_routes_reach_peers_elsewhere_and_bad_ones_are_refused() {
    let base = ConfigLayer {
        node_id: Some(1),
        data_dir: Some("/d".into()),
        insecure: Some(true),
        ..ConfigLayer::default()
    };
    // What clap reads from KAIROS_PEER_ROUTES=2=127.0.0.1:9002,3=127.0.0.1:9003.
    let env = ConfigLayer {
        peer_routes: Some("2=127.0.0.1:9002,3=127.0.0.1:9003".into()),
        ..ConfigLayer::default()
    };
    let config = env.over(base.clone()).resolve().expect("config");
    assert_eq!(
        config.raft.peer_routes.get(&3).map(String::as_str),
        Some("127.0.0.1:9003")
    );
    let bad = ConfigLayer {
        peer_routes: Some("2=nowhere".into()),
        ..base
    };
    assert!(bad.resolve().is_err());
}

#[test]
fn peers_must_agree_with_this_node() {
    let layer = ConfigLayer {
        node_id: Some(1),
        data_dir: Some("/d".into()),
        insecure: Some(true),
        grpc_addr: Some("127.0.0.1:7071".into()),
        peers: Some("1=127.0.0.1:7999,2=127.0.0.1:7072".into()),
        ..ConfigLayer::default()
    };
    assert!(
        layer
            .clone()
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("make them the same")
    );
    // Listening on every address, reached by a name: the advertised address
    // is the one --peers must give, and the member record carries.
    let advertised = ConfigLayer {
        grpc_addr: Some("0.0.0.0:7071".into()),
        advertise_grpc_addr: Some("kairos-1:7071".into()),
        peers: Some("1=kairos-1:7071,2=kairos-2:7071".into()),
        ..layer
    };
    let config = advertised.resolve().expect("config");
    assert_eq!(config.grpc_addr, "0.0.0.0:7071");
    assert_eq!(config.advertise_grpc_addr, "kairos-1:7071");
    assert_eq!(config.advertise_http_addr, config.http_addr);
}

/// deploy/kairos.toml, the reference of every setting, names each of them with
/// a value that reads.
#[test]
fn the_reference_file_lists_every_setting() {
    let table = kairos_config_layers::commented_settings(
        include_str!("../../../../deploy/kairos.toml"),
        kairos_config_layers::Table::Server,
    );
    for (key, ..) in SETTINGS {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "deploy/kairos.toml does not list [server] {key}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(&file, table).unwrap();
    ConfigLayer::from_file(&file).expect("deploy/kairos.toml reads");
}
