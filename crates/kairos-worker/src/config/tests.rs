//! Tests of the worker's configuration: every setting's flag, variable and key, the
//! order of the layers, and the errors bad settings get.

use super::*;
use clap::builder::TypedValueParser;
use kairos_config_layers::Layer;

/// Every setting: its key in `[worker]` (the field), its flag, its variable,
/// and a value of its type for a `kairos.toml`. The names are public (the
/// docs, scripts and deployments use them): this pins them.
const SETTINGS: [(&str, &str, &str, &str); 17] = [
    ("servers", "servers", "KAIROS_SERVERS", "\"127.0.0.1:7071\""),
    ("queues", "queues", "KAIROS_QUEUES", "\"default,etl\""),
    ("slots", "slots", "KAIROS_SLOTS", "8"),
    (
        "envs",
        "environment",
        "KAIROS_ENVS",
        "\"a=/a/python, b=/b/python\"",
    ),
    ("teams", "teams", "KAIROS_TEAMS", "\"sales,ops\""),
    ("token_file", "token-file", "KAIROS_TOKEN_FILE", "\"/t\""),
    ("worker_id", "worker-id", "KAIROS_WORKER_ID", "\"w1\""),
    ("data_dir", "data-dir", "KAIROS_WORKER_DIR", "\"/d\""),
    (
        "http_addr",
        "http-addr",
        "KAIROS_WORKER_HTTP_ADDR",
        "\"127.0.0.1:0\"",
    ),
    (
        "advertise_http",
        "advertise-http",
        "KAIROS_WORKER_ADVERTISE_HTTP",
        "\"w1:8793\"",
    ),
    (
        "kill_grace_secs",
        "kill-grace-secs",
        "KAIROS_KILL_GRACE_SECS",
        "10",
    ),
    ("tls_cert", "tls-cert", "KAIROS_TLS_CERT", "\"/w1.pem\""),
    ("tls_key", "tls-key", "KAIROS_TLS_KEY", "\"/w1.key\""),
    ("tls_ca", "tls-ca", "KAIROS_TLS_CA", "\"/ca.pem\""),
    ("insecure", "insecure", "KAIROS_INSECURE", "true"),
    (
        "attempt_log",
        "attempt-log",
        "KAIROS_ATTEMPT_LOG",
        "\"/a.jsonl\"",
    ),
    ("run_as", "run-as", "KAIROS_RUN_AS", "\"nobody\""),
];

fn command() -> clap::Command {
    <WorkerLayer as clap::Args>::augment_args(clap::Command::new("kairos-worker"))
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
    std::fs::write(&file, format!("[worker]\n{table}")).unwrap();
    let layer = WorkerLayer::from_file(&file).unwrap();
    assert_eq!(layer.slots, Some(8));
    assert_eq!(
        layer.envs,
        Some(vec!["a=/a/python".to_string(), " b=/b/python".to_string()])
    );
    assert_eq!(layer.attempt_log, Some(PathBuf::from("/a.jsonl")));
}

#[test]
fn flags_are_read_into_their_settings_and_env_repeats() {
    // Only the command line here: whatever KAIROS_* the test runs with is
    // left out.
    let command = command().mut_args(|arg| arg.env(None));
    let matches = command
        .clone()
        .try_get_matches_from([
            "kairos-worker",
            "--slots",
            "3",
            "--env",
            "a=/a/python",
            "--env",
            "b=/b/python,c=/c/python",
            "--kill-grace-secs",
            "1",
        ])
        .unwrap();
    let layer = <WorkerLayer as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
    assert_eq!(layer.slots, Some(3));
    assert_eq!(layer.kill_grace_secs, Some(1));
    assert_eq!(
        layer.envs,
        Some(vec![
            "a=/a/python".to_string(),
            "b=/b/python".to_string(),
            "c=/c/python".to_string()
        ])
    );
    assert_eq!(layer.servers, None);
    let err = command
        .try_get_matches_from(["kairos-worker", "--slots", "many"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--slots") && err.contains("many"), "{err}");
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    let token = dir.path().join("token");
    std::fs::write(&token, "# worker token\nsecret\n").unwrap();
    std::fs::write(
        &file,
        format!(
            "[server]\nnode_id = 1\n[worker]\nslots = 2\nqueues = \"etl\"\ntoken_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    let flags = WorkerLayer {
        slots: Some(4),
        insecure: Some(true),
        ..WorkerLayer::default()
    };
    // What clap reads from KAIROS_SLOTS=3 and
    // KAIROS_ENVS="py311=/opt/py311/bin/python, python3=/usr/bin/python3" (the
    // binary's own test, tests/config_layers.rs, sets real variables).
    let environment = WorkerLayer {
        slots: Some(3),
        envs: Some(vec![
            "py311=/opt/py311/bin/python".into(),
            " python3=/usr/bin/python3".into(),
        ]),
        ..WorkerLayer::default()
    };
    let config = flags
        .over(environment)
        .over(WorkerLayer::from_file(&file).unwrap())
        .resolve()
        .unwrap();
    assert_eq!(config.slots, 4);
    assert_eq!(config.queues, ["etl"]);
    assert_eq!(config.token.as_deref(), Some("secret"));
    assert_eq!(
        config.envs.get("py311"),
        Some(&PathBuf::from("/opt/py311/bin/python"))
    );
    assert_eq!(config.servers, ["127.0.0.1:7071"]);
    assert!(
        config.data_dir.is_absolute(),
        "{}",
        config.data_dir.display()
    );
}

#[test]
fn bad_settings_say_what_to_give() {
    let bad = |layer: WorkerLayer| layer.resolve().unwrap_err().to_string();
    let err = bad(WorkerLayer {
        slots: Some(0),
        ..WorkerLayer::default()
    });
    assert!(err.contains("at least 1"), "{err}");
    let err = bad(WorkerLayer {
        envs: Some(vec!["python3".into()]),
        ..WorkerLayer::default()
    });
    assert!(err.contains("NAME=PATH"), "{err}");
    let err = bad(WorkerLayer {
        servers: Some("localhost".into()),
        ..WorkerLayer::default()
    });
    assert!(err.contains("HOST:PORT"), "{err}");
    let err = bad(WorkerLayer {
        worker_id: Some("w7".into()),
        ..WorkerLayer::default()
    });
    assert!(
        err.contains("kairos certs worker --id w7") && err.contains("--insecure"),
        "{err}"
    );
    // A bad KAIROS_SLOTS is refused by the argument that declares it, naming
    // the variable (tests/config_layers.rs sets it for real).
    let command = command();
    let slots = command
        .get_arguments()
        .find(|arg| arg.get_id() == "slots")
        .unwrap();
    let err = whole_number::<u32>()
        .parse_ref_(
            &command,
            Some(slots),
            std::ffi::OsStr::new("many"),
            clap::parser::ValueSource::EnvVariable,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("KAIROS_SLOTS"), "{err}");
}

#[test]
fn environments_take_a_venv_folder_or_an_interpreter_under_either_name() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let command = command().mut_args(|arg| arg.env(None));
    let given = format!("etl={}", venv.display());
    let matches = command
        .try_get_matches_from([
            "kairos-worker",
            "--environment",
            &given,
            "--env",
            "old=/usr/bin/python3",
            "--teams",
            "sales, ops",
            "--insecure",
        ])
        .unwrap();
    let layer = <WorkerLayer as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
    let config = layer.resolve().unwrap();
    assert_eq!(config.envs["etl"], venv.join("bin").join("python"));
    assert_eq!(config.envs["old"], PathBuf::from("/usr/bin/python3"));
    assert_eq!(config.teams, ["sales", "ops"]);
    // kairos.toml: `envs` as before, or `environments`.
    let file = dir.path().join("kairos.toml");
    std::fs::write(&file, "[worker]\nenvironments = \"a=/a/python\"\n").unwrap();
    let layer = WorkerLayer::from_file(&file).unwrap();
    assert_eq!(layer.envs, Some(vec!["a=/a/python".to_string()]));
    let err = WorkerLayer {
        envs: Some(vec!["py 3=/x".into()]),
        insecure: Some(true),
        ..WorkerLayer::default()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(err.contains("environment name \"py 3\""), "{err}");
    let err = WorkerLayer {
        teams: Some("a b".into()),
        insecure: Some(true),
        ..WorkerLayer::default()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(err.contains("team \"a b\""), "{err}");
}

/// deploy/kairos.toml, the reference of every setting, names each of them with
/// a value that reads.
#[test]
fn the_reference_file_lists_every_setting() {
    let table = kairos_config_layers::commented_settings(
        include_str!("../../../../deploy/kairos.toml"),
        kairos_config_layers::Table::Worker,
    );
    for (key, ..) in SETTINGS {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "deploy/kairos.toml does not list [worker] {key}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kairos.toml");
    std::fs::write(&file, table).unwrap();
    WorkerLayer::from_file(&file).expect("deploy/kairos.toml reads");
}
