//! `kairos dags validate` and `kairos dags show`, run as the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kairos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run kairos: {e}"))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_examples_are_valid() {
    let out = kairos(&["dags", "validate", "examples"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("13 valid DAG(s), 0 error(s), 0 warning(s)"),
        "{text}"
    );
    let report = json(&kairos(&[
        "dags", "validate", "examples", "--output", "json",
    ]));
    assert_eq!(report["errors"], 0);
    assert_eq!(report["valid_dags"], 13);
}

/// dag-factory's forms for Python code from a bundle: `python_callable:
/// package.module.function` and a custom operator class. Valid without a
/// warning, and nothing is imported (the package is not on any path here).
#[test]
fn dotted_callables_and_custom_operators_are_valid_without_importing() {
    // The bundle's folder is the DAGs root (`$CONFIG_ROOT_DIR`).
    let root = "crates/kairos-worker/tests/fixtures/bakery_bundle";
    let dags = format!("{root}/dags");
    let out = kairos(&["dags", "validate", root]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("1 valid DAG(s), 0 error(s), 0 warning(s)"),
        "{text}"
    );
    // One file alone finds its root in dag-factory's CONFIG_ROOT_DIR.
    let show = |root: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kairos"));
        cmd.args(["dags", "show", &format!("{dags}/breakfast.yml")])
            .current_dir(repo());
        match root {
            Some(r) => cmd.env("CONFIG_ROOT_DIR", repo().join(r)),
            None => cmd.env_remove("CONFIG_ROOT_DIR"),
        };
        cmd.output().expect("kairos runs")
    };
    let out = show(Some(root));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = show(None);
    assert!(
        !out.status.success(),
        "without the root, callables.py is missing"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dags/callables.py"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each broken file says which error it must produce, on its first line:
/// `# expect: LINE:COL text; more text` (every `;`-separated part must appear).
fn expectation(path: &Path) -> (u64, u64, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let first = text.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{} has no expectation", path.display()));
    let (pos, wants) = rest.split_once(' ').unwrap_or((rest, ""));
    let (line, col) = pos.split_once(':').unwrap_or(("0", "0"));
    (
        line.parse().unwrap_or(0),
        col.parse().unwrap_or(0),
        wants.split("; ").map(str::to_string).collect(),
    )
}

#[test]
fn every_broken_file_gives_its_one_clear_error() {
    let dir = repo().join("tests/fixtures/broken-dags");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    assert!(
        files.len() >= 12,
        "expected the broken fixtures, found {}",
        files.len()
    );
    for file in &files {
        let (line, col, wants) = expectation(file);
        let path = file.to_string_lossy().into_owned();
        let out = kairos(&["dags", "validate", &path, "--output", "json"]);
        assert_eq!(out.status.code(), Some(1), "{path} must fail");
        let report = json(&out);
        let diags: Vec<&serde_json::Value> = report["files"][0]["diagnostics"]
            .as_array()
            .map(|a| a.iter().filter(|d| d["severity"] == "error").collect())
            .unwrap_or_default();
        assert_eq!(diags.len(), 1, "{path}: exactly one error, got {diags:#?}");
        let d = diags[0];
        assert_eq!(
            (d["pos"]["line"].as_u64(), d["pos"]["col"].as_u64()),
            (Some(line), Some(col)),
            "{path}: {d:#}"
        );
        let said = format!(
            "{} {}",
            d["message"].as_str().unwrap_or(""),
            d["hint"].as_str().unwrap_or("")
        );
        for want in &wants {
            assert!(
                said.contains(want.as_str()),
                "{path}: `{want}` not in `{said}`"
            );
        }
    }
    // The folder at once: one error per file, exit 1, and the human form names file:line:col.
    let out = kairos(&["dags", "validate", "tests/fixtures/broken-dags"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(": error: ").count(), files.len(), "{stderr}");
    assert!(stderr.contains("tests/fixtures/broken-dags/unknown_dependency.yml:9:22: error: dag `unknown_dependency`"), "{stderr}");
}

#[test]
fn show_prints_tasks_edges_and_intervals() {
    let out = kairos(&[
        "dags",
        "show",
        "examples/catchup_timedelta.yml",
        "--now",
        "2024-01-02T01:00:00Z",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = json(&out);
    let dag = &shown[0];
    assert_eq!(dag["dag"]["dag_id"], "catchup_timedelta");
    let intervals = dag["next_data_intervals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(intervals.len(), 5);
    assert_eq!(intervals[0]["data_interval_start"], "2024-01-01T00:00:00Z");
    assert_eq!(intervals[0]["data_interval_end"], "2024-01-01T06:00:00Z");
    assert_eq!(intervals[4]["logical_date"], "2024-01-02T00:00:00Z");
    assert!(
        dag["version_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:"))
    );

    let text = kairos(&[
        "dags",
        "show",
        "examples/task_groups.yml",
        "--now",
        "2024-01-02T01:00:00Z",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("DAG grouped_ingest"), "{text}");
    assert!(text.contains("reporting.build_report"), "{text}");
    assert!(
        text.contains("ingest.customers.fetch_customers, ingest.orders.clean"),
        "edges: {text}"
    );
    assert!(text.contains("2024-01-01 00:00 UTC"), "intervals: {text}");

    let edges = json(&kairos(&[
        "dags",
        "show",
        "examples/fan_out_fan_in.yml",
        "-o",
        "json",
    ]));
    let edges = edges[0]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(edges.len(), 6, "start->3 regions, 3 regions->publish");
}

#[test]
fn paths_resolve_the_same_from_anywhere() {
    // Found in review: `../dags/x.yml` rejected its own $CONFIG_ROOT_DIR files.
    let out = Command::new(env!("CARGO_BIN_EXE_kairos"))
        .args([
            "dags",
            "validate",
            "../../examples/branching.yml",
            "../../examples/python_callables.yml",
        ])
        .current_dir(repo().join("crates/kairos"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run kairos: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A file named twice (itself and its folder) is read once: no false duplicate id.
    let out = kairos(&["dags", "validate", "examples/bash_chain.yml", "examples"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("13 file(s) checked"));
}

#[test]
fn bad_usage_and_missing_files() {
    let out = kairos(&["dags", "validate"]);
    assert_eq!(out.status.code(), Some(2), "usage error");
    let out = kairos(&["dags", "validate", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or folder"));
    let out = kairos(&["dags", "show", "examples/bash_chain.yml", "--dag", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no DAG `nope`"));
    let out = kairos(&[
        "dags",
        "show",
        "examples/bash_chain.yml",
        "--now",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// `kairos tasks render`: a task's templated arguments for a date, from the file
/// alone, with the DAGs root from CONFIG_ROOT_DIR; a missing task says so.
#[test]
fn tasks_render_shows_the_templated_arguments_for_a_date() {
    let out = kairos(&[
        "tasks",
        "render",
        "examples/bash_chain.yml",
        "extract",
        "--logical-date",
        "2026-01-02",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("# bash_command\necho extracting 2026-01-02"),
        "{text}"
    );
    let out = kairos(&["tasks", "render", "examples/bash_chain.yml", "nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no task `nope`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
