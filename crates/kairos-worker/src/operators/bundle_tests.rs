//! The worker's Python path with a bundle: a `Ctx` whose `bundle_root` is the
//! fixture bundle (`tests/fixtures/bakery_bundle`), as the bundle
//! materialization will set it, running the real runner in `python3`. No
//! cluster: the tasks run here pull no XComs and read no Variables, and the
//! callable file is put in the file cache beforehand.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::RunType;
use kairos_dag::load::{LoadOptions, load_file};
use kairos_dag::template::RunFacts;
use kairos_dag::version::content_hash;
use serde_json::json;
use tokio::sync::watch;

use super::{Ctx, Report, run};
use crate::config::WorkerLayer;
use crate::conn::Conn;
use crate::context::Attempt;
use crate::files::FileCache;
use crate::mask::Secrets;

fn bundle_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bakery_bundle")
}

struct Harness {
    dir: tempfile::TempDir,
    attempt: Attempt,
    files: FileCache,
    config: crate::config::WorkerConfig,
}

impl Harness {
    /// Task `task_id` of the fixture's `breakfast` DAG, for a run on 2026-01-02.
    fn new(task_id: &str) -> Harness {
        let loaded = load_file(
            &bundle_root().join("dags/breakfast.yml"),
            &LoadOptions {
                root: Some(bundle_root()),
                ..LoadOptions::default()
            },
        );
        // Valid, without a warning: nothing of the dotted forms is imported here.
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let version = &loaded.dags[0];
        let dag = version.dag.clone();
        let mut task = dag.task(task_id).expect("task").clone();
        // No cluster to pull upstream XComs from (the runner's own tests cover
        // `ti.xcom_pull` of upstream values).
        task.upstream.clear();
        let dir = tempfile::tempdir().unwrap();
        let config = WorkerLayer {
            worker_id: Some("w1".into()),
            data_dir: Some(dir.path().join("data")),
            insecure: Some(true),
            ..WorkerLayer::default()
        }
        .resolve()
        .expect("config");
        let files = FileCache::open(&config.files_dir()).unwrap();
        // The version's files, cached as if fetched (by hash, under their name).
        for (key, hash) in &version.files {
            let text = loaded.contents.get(hash).expect("content");
            assert_eq!(&content_hash(text.as_bytes()), hash);
            let name = Path::new(key).file_name().unwrap();
            let at = config
                .files_dir()
                .join(hash.trim_start_matches("sha256:"))
                .join(name);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(at, text).unwrap();
        }
        let logical = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        let attempt = Attempt {
            ti: TaskInstanceKey {
                dag_id: dag.dag_id.clone(),
                run_id: "manual__1".into(),
                task_id: task_id.into(),
                map_index: -1,
            },
            token: "t0k3n".into(),
            try_number: 1,
            first_poke_at: None,
            retried_on_failure: false,
            files: version.files.clone(),
            dag,
            task,
            run: RunFacts {
                run_id: "manual__1".into(),
                run_type: RunType::Manual,
                logical_date: Some(logical),
                data_interval: None,
                run_after: logical,
                conf: [("kind".to_string(), json!("spelt"))].into(),
                prev_success: None,
                triggering_asset_events: Vec::new(),
            },
            map_element: None,
        };
        Harness {
            dir,
            attempt,
            files,
            config,
        }
    }

    async fn run(&self, bundle_root: Option<PathBuf>) -> (Report, String) {
        let work = self.dir.path().join("work");
        let stage = self.dir.path().join("stage");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&stage).unwrap();
        let log = self.dir.path().join("attempt.log");
        let _ = std::fs::remove_file(&log);
        let (_tx, cancel) = watch::channel(false);
        let ctx = Ctx {
            attempt: &self.attempt,
            // Never called: these tasks pull nothing from the cluster.
            conn: Arc::new(Conn::new(vec!["127.0.0.1:9".into()], None, None).unwrap()),
            files: &self.files,
            config: &self.config,
            xcom_file: work.join("xcom.jsonl"),
            workdir: work,
            log: log.clone(),
            cancel,
            pgid_file: self.dir.path().join("w0.pgid"),
            stage,
            secrets: Secrets::new(),
            run_as: None,
            bundle_root,
            layered_python: None,
        };
        let report = run(&ctx).await;
        (report, std::fs::read_to_string(&log).unwrap_or_default())
    }
}

fn xcom<'r>(report: &'r Report, key: &str) -> Option<&'r serde_json::Value> {
    report.xcoms.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

#[tokio::test]
async fn a_dotted_callable_runs_from_the_bundle_and_returns_an_xcom() {
    let h = Harness::new("numbers");
    let (report, log) = h.run(Some(bundle_root())).await;
    assert_eq!(report.state, "success", "{report:?}\n{log}");
    assert_eq!(xcom(&report, "return_value"), Some(&json!([1, 2, 3])));
    // A callable file that imports the bundle's modules.
    let h = Harness::new("rye_weight");
    let (report, log) = h.run(Some(bundle_root())).await;
    assert_eq!(report.state, "success", "{report:?}\n{log}");
    assert_eq!(xcom(&report, "return_value"), Some(&json!(1500)));
    // A PythonSensor with a dotted callable: truthy at once.
    let h = Harness::new("ready");
    let (report, log) = h.run(Some(bundle_root())).await;
    assert_eq!(report.state, "success", "{report:?}\n{log}");
}

#[tokio::test]
async fn without_the_bundle_the_import_fails_with_the_module_and_the_path() {
    let h = Harness::new("numbers");
    let (report, log) = h.run(None).await;
    assert_eq!(report.state, "failed");
    let reason = report.reason.unwrap_or_default();
    assert!(
        reason.contains("bakery.numbers.count_to raised an exception, or module `bakery.numbers` could not be imported"),
        "{reason}"
    );
    assert!(
        log.contains("cannot import module `bakery.numbers`")
            && log.contains("No module named 'bakery'")
            && log.contains("sys.path was:"),
        "{log}"
    );
}

#[tokio::test]
async fn a_custom_operator_renders_its_template_fields_pushes_and_returns() {
    let h = Harness::new("bread");
    let (report, log) = h.run(Some(bundle_root())).await;
    assert_eq!(report.state, "success", "{report:?}\n{log}");
    // params.kind is the trigger's conf over the DAG's params; ds and ds_nodash
    // are the run's; rendered inside lists and dicts too.
    let returned = xcom(&report, "return_value").expect("return_value");
    assert_eq!(returned["bread"], json!("spelt"));
    assert_eq!(returned["note"], json!("baked on 2026-01-02"));
    assert_eq!(returned["options"], json!({"crust": ["20260102", "dark"]}));
    assert_eq!(returned["owner"], json!("bakers"));
    assert_eq!(returned["conf"], json!({"kind": "spelt"}));
    // xcom_push in execute (the helper module of the same package computed it).
    assert_eq!(xcom(&report, "grams"), Some(&json!(1000)));
    assert!(
        log.contains("rendered template fields of bakery.operators.breakfast.MakeBreadOperator: bread_type, note, options"),
        "{log}"
    );
    assert!(log.contains("baking 2 x spelt for 2026-01-02"), "{log}");
}

#[tokio::test]
async fn a_custom_operator_that_raises_airflow_skip_is_skipped() {
    let h = Harness::new("closed");
    let (report, log) = h.run(Some(bundle_root())).await;
    assert_eq!(report.state, "skipped", "{report:?}\n{log}");
    assert!(log.contains("the bakery is closed on 2026-01-02"), "{log}");
    // Without the bundle the class is not found: the task fails and says so.
    let (report, log) = h.run(None).await;
    assert_eq!(report.state, "failed");
    assert!(
        report
            .reason
            .unwrap_or_default()
            .contains("could not be imported or constructed"),
        "{log}"
    );
    assert!(
        log.contains("cannot import module `bakery.operators.breakfast`"),
        "{log}"
    );
}
