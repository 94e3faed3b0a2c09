//! `kairos dags test`: one run in-process without a cluster, its tasks' logs
//! printed, and the exit code saying how the run ended.

use std::path::Path;
use std::process::{Command, Output};

fn kairos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .output()
        .expect("kairos runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_good_run_succeeds_with_its_logs_and_a_failing_one_exits_1() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bash_chain.yml");
    let out = kairos(&[
        "dags",
        "test",
        &example.display().to_string(),
        "--logical-date",
        "2026-01-01",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    // Each task's log, in the order they ran, then the summary.
    let extract = all.find("--- extract: success (try 1)");
    let transform = all.find("--- transform: success (try 1)");
    let load = all.find("--- load: success (try 1)");
    assert!(
        extract < transform && transform < load && extract.is_some(),
        "{all}"
    );
    assert!(
        all.contains("extracting 2026-01-01") && all.contains("transforming rows=42"),
        "{all}"
    );
    assert!(all.contains("run: success"), "{all}");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken_run.yml");
    std::fs::write(
        &file,
        "broken_run:\n  schedule: '@daily'\n  start_date: 2020-01-01\n  catchup: true\n  tasks:\n    ok: {operator: bash, bash_command: 'echo fine'}\n    boom: {operator: bash, bash_command: 'echo about to fail; exit 3', dependencies: [ok]}\n    after: {operator: bash, bash_command: 'echo never', dependencies: [boom]}\n",
    )
    .expect("write");
    let out = kairos(&["dags", "test", &file.display().to_string()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("--- boom: failed (try 1)") && all.contains("about to fail"),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with("after ") && l.contains("upstream_failed")),
        "{all}"
    );
    assert!(all.contains("run: failed"), "{all}");
    // The schedule (daily since 2020, with catchup) made no runs: one run only.
    let out = kairos(&[
        "dags",
        "test",
        &file.display().to_string(),
        "--logical-date",
        "2026-02-01",
        "-o",
        "json",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("JSON");
    assert_eq!(
        summary["runs_in_cluster"],
        serde_json::json!(["test__2026-02-01T00:00:00+00:00"]),
        "{summary}"
    );
    assert_eq!(summary["run"]["state"], "failed");

    let two = dir.path().join("two.yml");
    std::fs::write(
        &two,
        "a:\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\nb:\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n",
    )
    .expect("write");
    let out = kairos(&["dags", "test", &two.display().to_string()]);
    assert!(
        !out.status.success() && text(&out).contains("has 2 DAGs (a, b); name the one to test"),
        "{}",
        text(&out)
    );
    let out = kairos(&["dags", "test", &two.display().to_string(), "b"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn tasks_test_runs_one_task_alone_and_records_nothing() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bash_chain.yml");
    let example = example.display().to_string();
    // `transform` alone: its upstream `extract` does not run, and `load` after it
    // neither; its template sees the logical date given.
    let out = kairos(&[
        "tasks",
        "test",
        &example,
        "transform",
        "--logical-date",
        "2026-03-04",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("--- transform: success (try 1)"), "{all}");
    assert!(all.contains("transforming"), "{all}");
    assert!(
        !all.contains("--- extract") && !all.contains("--- load") && !all.contains("extracting"),
        "only the task asked for runs:\n{all}"
    );

    // A failing task exits 1 with its log.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("two.yml");
    std::fs::write(
        &file,
        "two:\n  tasks:\n    ok: {operator: bash, bash_command: 'echo fine'}\n    boom: {operator: bash, bash_command: 'echo ds={{ ds }}; exit 3', dependencies: [ok]}\n",
    )
    .expect("write");
    let file = file.display().to_string();
    let out = kairos(&[
        "tasks",
        "test",
        &file,
        "boom",
        "--logical-date",
        "2026-05-06",
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("--- boom: failed (try 1)") && all.contains("ds=2026-05-06"),
        "{all}"
    );
    assert!(!all.contains("--- ok"), "{all}");

    // An unknown task is named, with the ones there are.
    let out = kairos(&["tasks", "test", &file, "nope"]);
    let all = text(&out);
    assert!(!out.status.success());
    assert!(
        all.contains("no task `nope`") && all.contains("ok, boom"),
        "{all}"
    );
}
