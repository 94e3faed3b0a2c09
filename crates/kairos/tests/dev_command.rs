//! `kairos dev --dags examples/`: one process pushes the examples, runs them with
//! its own worker, and answers the CLI; a Python example (branching) succeeds, and
//! a changed file becomes a new version.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

use kairos_testkit::DevProcess;

fn kairos(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .env_remove("KAIROS_SERVER")
        .output()
        .expect("kairos runs")
}

/// The JSON a GET of `path` on the dev server answers.
fn http_get(addr: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

fn states(server: &str, dag: &str, run: &str) -> serde_json::Value {
    let out = kairos(&[
        "tasks", "states", dag, run, "--server", server, "-o", "json",
    ]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn dev_runs_the_examples_and_pushes_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dags = dir.path().join("dags");
    std::fs::create_dir_all(dags.join("lib")).expect("dags dir");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["bash_chain.yml", "branching.yml", "lib/branching.py"] {
        std::fs::copy(examples.join(name), dags.join(name)).expect("copy an example");
    }
    let dev = DevProcess::start(Path::new(env!("CARGO_BIN_EXE_kairos")), &dags, dir.path());
    let http = dev.http.clone();
    let dev_log = || dev.log();
    dev.wait_for("pushed branching: new version 1", Duration::from_secs(30));
    assert!(dev_log().contains("open: no tokens"), "{}", dev_log());

    for (dag, date) in [
        ("bash_chain", "2026-01-01T00:00:00Z"),
        ("branching", "2026-01-05T05:00:00Z"),
    ] {
        let out = kairos(&[
            "dags",
            "trigger",
            dag,
            "--run-id",
            "dev_run",
            "--logical-date",
            date,
            "--server",
            &http,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let chain = states(&http, "bash_chain", "dev_run");
        let branch = states(&http, "branching", "dev_run");
        let done = |v: &serde_json::Value| {
            v.as_array().is_some_and(|a| {
                !a.is_empty()
                    && a.iter().all(|t| {
                        matches!(
                            t["state"].as_str(),
                            Some("success" | "skipped" | "failed" | "upstream_failed")
                        )
                    })
            })
        };
        if done(&chain) && done(&branch) {
            let state = |v: &serde_json::Value, task: &str| {
                v.as_array()
                    .and_then(|a| {
                        a.iter()
                            .find(|t| t["task_id"] == task)
                            .map(|t| t["state"].clone())
                    })
                    .unwrap_or_default()
            };
            assert_eq!(state(&chain, "load"), "success", "{chain}");
            // 2026-01-05 is a Monday: the branch takes the full load.
            assert_eq!(
                state(&branch, "choose_load"),
                "success",
                "{branch}\n{}",
                dev_log()
            );
            assert_eq!(state(&branch, "full_load"), "success", "{branch}");
            assert_eq!(state(&branch, "incremental_load"), "skipped", "{branch}");
            assert_eq!(state(&branch, "report"), "success", "{branch}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runs did not finish: {chain} {branch}\n{}",
            dev_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The DAG list says when the schedule runs next: bash_chain runs daily at
    // 03:00 UTC with no catchup, so its next run is one day's interval ending at
    // 03:00, due at its end, never more than a day ahead.
    let listed = http_get(&http, "/api/v1/dags");
    let dag = |id: &str| {
        listed["dags"]
            .as_array()
            .and_then(|all| all.iter().find(|d| d["dag_id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed: {listed}"))
    };
    let chain = dag("bash_chain");
    let time = |field: &str| {
        chain[field]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|| panic!("{field} in {chain}"))
    };
    let (start, end) = (
        time("next_dagrun_data_interval_start"),
        time("next_dagrun_data_interval_end"),
    );
    assert_eq!(time("next_dagrun"), start, "{chain}");
    assert_eq!(time("next_dagrun_create_after"), end, "{chain}");
    assert_eq!(end - start, chrono::Duration::days(1), "{chain}");
    assert_eq!(end.format("%H:%M:%S").to_string(), "03:00:00", "{chain}");
    assert!(
        end <= chrono::Utc::now() + chrono::Duration::days(1),
        "{chain}"
    );

    // The open dev API answers only requests addressed to a loopback host.
    let status_for = |host: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&http).expect("connect");
        write!(
            stream,
            "GET /api/v1/dags HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or("").to_string()
    };
    let refused = status_for("attacker.example");
    assert!(refused.contains(" 403 "), "{refused}");
    let allowed = status_for("localhost:8080");
    assert!(allowed.contains(" 200 "), "{allowed}");

    // A changed Python callable makes a new version of the DAG that ships it.
    let py = std::fs::read_to_string(dags.join("lib/branching.py")).expect("read");
    std::fs::write(dags.join("lib/branching.py"), format!("{py}\n# edited\n")).expect("edit");
    dev.wait_for("pushed branching: new version 2", Duration::from_secs(20));

    // A changed file is pushed as version 2.
    let text = std::fs::read_to_string(dags.join("bash_chain.yml")).expect("read");
    std::fs::write(
        dags.join("bash_chain.yml"),
        text.replace("echo rows=42", "echo rows=43"),
    )
    .expect("edit");
    dev.wait_for("pushed bash_chain: new version 2", Duration::from_secs(20));
}
