//! Teams on one cluster, with real `kairos` processes: tokens of team `sales`
//! and team `ops`, a DAG of each (and one of no team), a real worker running
//! them. A token of `ops` reaches nothing of `sales`: every endpoint of the
//! OpenAPI document is in the table below (a new endpoint without an entry fails
//! the test), and each answers a foreign team's object as absent. Team
//! Variables shadow cluster-wide ones in a real task's template.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use kairos_testkit::{CALM_TIMINGS, Cluster};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKENS: &str = "\
admin root
sales:admin sales-admin
sales:viewer sales-viewer
ops:admin ops-admin
";

/// A DAG that echoes a Variable through a template; `replace` keeps the
/// worker's masker (which hides Variable values in logs and XComs) from
/// hiding what the test reads.
fn dag(dag_id: &str) -> String {
    format!(
        "{dag_id}:\n  schedule: null\n  is_paused_upon_creation: false\n  tasks:\n    \
         t:\n      operator: bash\n      bash_command: \"echo region={{{{ var.value.region | replace('-', '_') }}}}\"\n"
    )
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method.clone(), path, token, body).await;
        assert!(
            status.is_success(),
            "{method} {path} as {token}: {status} {answer}"
        );
        answer
    }

    async fn push(&self, token: &str, dag_id: &str, team: Option<&str>) -> (StatusCode, Value) {
        let mut body = json!({"file_name": format!("{dag_id}.yml"), "content": dag(dag_id)});
        if let Some(team) = team {
            body["team"] = json!(team);
        }
        self.call(Method::POST, "/dagFiles", token, Some(body))
            .await
    }

    /// Waits for run `run` of `dag_id` to succeed; its task's XCom.
    async fn finished_xcom(&self, token: &str, dag_id: &str, run: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (_, r) = self
                .call(
                    Method::GET,
                    &format!("/dags/{dag_id}/dagRuns/{run}"),
                    token,
                    None,
                )
                .await;
            if r["state"] == "success" {
                break;
            }
            assert!(r["state"] != "failed", "{dag_id} {run} failed: {r}");
            assert!(
                Instant::now() < deadline,
                "{dag_id} {run} did not finish: {r}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let xcoms = self
            .ok(
                Method::GET,
                &format!("/dags/{dag_id}/dagRuns/{run}/taskInstances/t/xcomEntries"),
                token,
                None,
            )
            .await;
        xcoms["xcom_entries"][0]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// The one file of sales' bundle.
const BUNDLE_FILE: &str = "sales notes\n";

fn bundle_file_hash() -> String {
    kairos_dag::version::content_hash(BUNDLE_FILE.as_bytes())
}

/// What a token of `ops` gets for each endpoint when it names `sales`' objects:
/// (method, path template as the OpenAPI document writes it, the concrete path,
/// body, expected status).
fn foreign_table() -> Vec<(Method, &'static str, String, Option<Value>, StatusCode)> {
    let d = "/dags/sales_dag";
    let r = "/dags/sales_dag/dagRuns/r1";
    let t = "/dags/sales_dag/dagRuns/r1/taskInstances/t";
    let nf = StatusCode::NOT_FOUND;
    let no = StatusCode::FORBIDDEN;
    let ok = StatusCode::OK;
    vec![
        (Method::GET, "/dags", "/dags".into(), None, ok),
        (
            Method::PATCH,
            "/dags",
            "/dags?dag_id_pattern=sales".into(),
            Some(json!({"is_paused": true})),
            ok,
        ),
        (Method::GET, "/dags/{dag_id}", d.into(), None, nf),
        (
            Method::PATCH,
            "/dags/{dag_id}",
            d.into(),
            Some(json!({"is_paused": true})),
            nf,
        ),
        (Method::DELETE, "/dags/{dag_id}", d.into(), None, nf),
        (
            Method::GET,
            "/dags/{dag_id}/details",
            format!("{d}/details"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/grid",
            format!("{d}/grid"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/tasks",
            format!("{d}/tasks"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/tasks/{task_id}",
            format!("{d}/tasks/t"),
            None,
            nf,
        ),
        (
            Method::POST,
            "/dagFiles",
            "/dagFiles".into(),
            Some(json!({"file_name": "x.yml", "content": dag("sales_dag")})),
            no,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/versions",
            format!("{d}/versions"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/versions/{version}",
            format!("{d}/versions/1"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/versions/{version}/file",
            format!("{d}/versions/1/file?key=sales_dag.yml"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/versions/{version}/diff/{other}",
            format!("{d}/versions/1/diff/1"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns",
            format!("{d}/dagRuns"),
            None,
            nf,
        ),
        (
            Method::POST,
            "/dags/{dag_id}/dagRuns",
            format!("{d}/dagRuns"),
            Some(json!({"dag_run_id": "intruder"})),
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}",
            r.into(),
            None,
            nf,
        ),
        (
            Method::PATCH,
            "/dags/{dag_id}/dagRuns/{dag_run_id}",
            r.into(),
            Some(json!({"state": "failed"})),
            nf,
        ),
        (
            Method::DELETE,
            "/dags/{dag_id}/dagRuns/{dag_run_id}",
            r.into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances",
            format!("{r}/taskInstances"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
            t.into(),
            None,
            nf,
        ),
        (
            Method::PATCH,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
            t.into(),
            Some(json!({"new_state": "failed"})),
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}",
            format!("{t}/0"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped",
            format!("{t}/listMapped"),
            None,
            nf,
        ),
        (
            Method::POST,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/clear",
            format!("{r}/clear"),
            Some(json!({"dry_run": false})),
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/explain",
            format!("{t}/explain"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries",
            format!("{t}/tries"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries/{try_number}",
            format!("{t}/tries/1"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries",
            format!("{t}/xcomEntries"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}",
            format!("{t}/xcomEntries/return_value"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
            format!("{t}/logs/1"),
            None,
            nf,
        ),
        (
            Method::POST,
            "/dags/{dag_id}/clearTaskInstances",
            format!("{d}/clearTaskInstances"),
            Some(json!({"dag_run_id": "r1"})),
            nf,
        ),
        (
            Method::POST,
            "/backfills",
            "/backfills".into(),
            Some(
                json!({"dag_id": "sales_dag", "from_date": "2026-01-01T00:00:00Z",
                        "to_date": "2026-01-02T00:00:00Z"}),
            ),
            nf,
        ),
        (
            Method::POST,
            "/files/missing",
            "/files/missing".into(),
            Some(json!({"hashes": [bundle_file_hash()]})),
            ok,
        ),
        (
            Method::POST,
            "/files",
            "/files".into(),
            Some(json!({"files": {bundle_file_hash(): BUNDLE_FILE}})),
            ok,
        ),
        (
            Method::POST,
            "/bundles/{bundle}/versions",
            "/bundles/sales_bundle/versions".into(),
            Some(
                json!({"team": "sales", "files": {"notes.txt": bundle_file_hash()}, "dag_files": []}),
            ),
            no,
        ),
        (Method::GET, "/bundles", "/bundles".into(), None, ok),
        (
            Method::GET,
            "/bundles/{bundle}",
            "/bundles/sales_bundle".into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/bundles/{bundle}/versions",
            "/bundles/sales_bundle/versions".into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/bundles/{bundle}/versions/{version}",
            "/bundles/sales_bundle/versions/1".into(),
            None,
            nf,
        ),
        (Method::GET, "/pools", "/pools".into(), None, ok),
        (
            Method::POST,
            "/pools",
            "/pools".into(),
            Some(json!({"name": "sales_pool", "slots": 99})),
            StatusCode::CONFLICT,
        ),
        (
            Method::PATCH,
            "/pools/{name}",
            "/pools/sales_pool".into(),
            Some(json!({"slots": 99})),
            nf,
        ),
        (
            Method::GET,
            "/pools/{name}",
            "/pools/sales_pool".into(),
            None,
            nf,
        ),
        (
            Method::PUT,
            "/pools/{name}",
            "/pools/sales_pool".into(),
            Some(json!({"slots": 99})),
            StatusCode::CONFLICT,
        ),
        (
            Method::DELETE,
            "/pools/{name}",
            "/pools/sales_pool".into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/variables",
            "/variables?team=sales".into(),
            None,
            ok,
        ),
        (
            Method::POST,
            "/variables",
            "/variables?team=sales".into(),
            Some(json!({"key": "secret", "value": "stolen"})),
            no,
        ),
        (
            Method::PATCH,
            "/variables/{key}",
            "/variables/secret?team=sales".into(),
            Some(json!({"value": "stolen"})),
            nf,
        ),
        (
            Method::GET,
            "/variables/{key}",
            "/variables/secret?team=sales".into(),
            None,
            nf,
        ),
        (
            Method::PUT,
            "/variables/{key}",
            "/variables/secret?team=sales".into(),
            Some(json!({"value": "stolen"})),
            no,
        ),
        (
            Method::DELETE,
            "/variables/{key}",
            "/variables/secret?team=sales".into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/connections",
            "/connections?team=sales".into(),
            None,
            ok,
        ),
        (
            Method::POST,
            "/connections",
            "/connections?team=sales".into(),
            Some(json!({"connection_id": "warehouse", "conn_type": "http"})),
            no,
        ),
        (
            Method::GET,
            "/connections/{connection_id}",
            "/connections/warehouse?team=sales".into(),
            None,
            nf,
        ),
        (
            Method::PATCH,
            "/connections/{connection_id}",
            "/connections/warehouse?team=sales".into(),
            Some(json!({"host": "stolen"})),
            nf,
        ),
        (
            Method::DELETE,
            "/connections/{connection_id}",
            "/connections/warehouse?team=sales".into(),
            None,
            nf,
        ),
        (Method::GET, "/workers", "/workers".into(), None, ok),
        (Method::GET, "/health", "/health".into(), None, ok),
        (Method::GET, "/version", "/version".into(), None, ok),
        (
            Method::GET,
            "/importErrors",
            "/importErrors".into(),
            None,
            ok,
        ),
        (
            Method::GET,
            "/importErrors/{import_error_id}",
            "/importErrors/1".into(),
            None,
            nf,
        ),
        (Method::GET, "/dagWarnings", "/dagWarnings".into(), None, ok),
        // Assets are shared by URI across teams (a producer of one team may
        // trigger a consumer of another): lists answer; an asset no DAG names is
        // absent for everyone; another team's run's events are not found.
        (Method::GET, "/datasets", "/datasets".into(), None, ok),
        (
            Method::GET,
            "/datasets/{uri}",
            "/datasets/s3%3A%2F%2Fnobody".into(),
            None,
            nf,
        ),
        (
            Method::GET,
            "/datasets/events",
            "/datasets/events".into(),
            None,
            ok,
        ),
        (
            Method::POST,
            "/datasets/events",
            "/datasets/events".into(),
            Some(json!({"dataset_uri": "s3://nobody"})),
            nf,
        ),
        (
            Method::GET,
            "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamDatasetEvents",
            format!("{r}/upstreamDatasetEvents"),
            None,
            nf,
        ),
        (
            Method::GET,
            "/dagStats",
            "/dagStats?dag_ids=sales_dag".into(),
            None,
            ok,
        ),
        (Method::GET, "/cluster", "/cluster".into(), None, no),
        (
            Method::GET,
            "/cluster/digest",
            "/cluster/digest".into(),
            None,
            no,
        ),
        (
            Method::GET,
            "/cluster/snapshot",
            "/cluster/snapshot".into(),
            None,
            no,
        ),
        (
            Method::POST,
            "/cluster/purge",
            "/cluster/purge".into(),
            Some(json!({"dag_id": "sales_dag", "keep_last": 0})),
            nf,
        ),
        (
            Method::POST,
            "/cluster/init",
            "/cluster/init".into(),
            Some(json!({"members": [{"node_id": 9, "grpc_addr": "127.0.0.1:1"}]})),
            no,
        ),
        (
            Method::POST,
            "/cluster/nodes",
            "/cluster/nodes".into(),
            Some(json!({"node_id": 9, "grpc_addr": "127.0.0.1:1"})),
            no,
        ),
        (
            Method::DELETE,
            "/cluster/nodes/{node_id}",
            "/cluster/nodes/9".into(),
            None,
            no,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_reaches_nothing_of_another_team_and_reads_its_own_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("api-tokens");
    std::fs::write(&tokens, TOKENS).expect("tokens");
    let tokens = tokens.display().to_string();
    let mut flags: Vec<&str> = CALM_TIMINGS.to_vec();
    flags.extend(["--api-token-file", &tokens]);
    let cluster =
        Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 1, &flags).expect("cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let api = Api {
        base: format!("http://{}/api/v1", cluster.node(1).http),
        client: reqwest::Client::new(),
    };

    // Pushes: each team's DAG is its team's, whatever the request says.
    let (status, answer) = api.push("sales-admin", "sales_dag", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = api.push("ops-admin", "ops_dag", Some("ops")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = api.push("root", "shared_dag", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = api.push("ops-admin", "ops_two", Some("sales")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "pushing as another team: {answer}"
    );
    let (status, answer) = api.push("ops-admin", "shared_dag", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "pushing over a DAG of no team: {answer}"
    );
    let sales = api.ok(Method::GET, "/dags/sales_dag", "root", None).await;
    assert_eq!(sales["team"], "sales", "{sales}");
    // A bundle of sales (its file first, then the version), as the CLI pushes one.
    api.ok(
        Method::POST,
        "/files",
        "sales-admin",
        Some(json!({"files": {bundle_file_hash(): BUNDLE_FILE}})),
    )
    .await;
    let pushed = api
        .ok(
            Method::POST,
            "/bundles/sales_bundle/versions",
            "sales-admin",
            Some(json!({"files": {"notes.txt": bundle_file_hash()}, "dag_files": []})),
        )
        .await;
    assert_eq!(
        (pushed["version"].clone(), pushed["created"].clone()),
        (json!(1), json!(true))
    );
    let bundle = api
        .ok(Method::GET, "/bundles/sales_bundle", "sales-viewer", None)
        .await;
    assert_eq!(bundle["team"], "sales", "{bundle}");
    // A cluster admin pushes for any team.
    let (status, answer) = api.push("root", "sales_extra", Some("sales")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // Variables: a cluster-wide one, sales' own of the same key, a sales secret.
    api.ok(
        Method::PUT,
        "/variables/region",
        "root",
        Some(json!({"value": "global-eu"})),
    )
    .await;
    api.ok(
        Method::PUT,
        "/variables/region",
        "sales-admin",
        Some(json!({"value": "sales-eu"})),
    )
    .await;
    api.ok(
        Method::PUT,
        "/variables/secret",
        "sales-admin",
        Some(json!({"value": "s3"})),
    )
    .await;
    api.ok(
        Method::POST,
        "/connections",
        "sales-admin",
        Some(
            json!({"connection_id": "warehouse", "conn_type": "postgres",
                    "host": "sales-db", "password": "pw"}),
        ),
    )
    .await;
    let conn = api
        .ok(
            Method::GET,
            "/connections/warehouse?team=sales",
            "root",
            None,
        )
        .await;
    assert_eq!(
        (
            conn["host"].clone(),
            conn["has_password"].clone(),
            conn.get("password")
        ),
        (json!("sales-db"), json!(true), None),
        "{conn}"
    );
    api.ok(
        Method::PUT,
        "/pools/sales_pool",
        "sales-admin",
        Some(json!({"slots": 2})),
    )
    .await;
    let pool = api.ok(Method::GET, "/pools/sales_pool", "root", None).await;
    assert_eq!(pool["team"], "sales", "{pool}");

    // Runs, through a real worker: each task renders its own team's Variable.
    let worker_dir = tempfile::tempdir().expect("tempdir");
    let mut worker = cluster
        .spawn_worker("teams-worker", worker_dir.path(), &[])
        .expect("a worker");
    for (token, dag_id) in [
        ("sales-admin", "sales_dag"),
        ("ops-admin", "ops_dag"),
        ("root", "shared_dag"),
    ] {
        api.ok(
            Method::POST,
            &format!("/dags/{dag_id}/dagRuns"),
            token,
            Some(json!({"dag_run_id": "r1"})),
        )
        .await;
    }
    assert_eq!(
        api.finished_xcom("sales-admin", "sales_dag", "r1").await,
        "region=sales_eu"
    );
    assert_eq!(
        api.finished_xcom("ops-admin", "ops_dag", "r1").await,
        "region=global_eu"
    );
    assert_eq!(
        api.finished_xcom("root", "shared_dag", "r1").await,
        "region=global_eu"
    );
    let _ = worker.kill();
    let _ = worker.wait();

    // Every endpoint of the OpenAPI document is in the table.
    let doc = api.ok(Method::GET, "/openapi.json", "root", None).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("methods").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let table = foreign_table();
    let tabled: BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, template, ..)| (m.as_str().to_string(), template.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&tabled).collect();
    assert!(
        missing.is_empty(),
        "endpoints with no team-isolation check: {missing:?}"
    );
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "table rows for endpoints the API no longer has: {stale:?}"
    );

    // A token of ops against sales' objects: absent, refused, or filtered.
    for (method, template, path, body, expected) in table {
        let (status, answer) = api.call(method.clone(), &path, "ops-admin", body).await;
        assert_eq!(
            status, expected,
            "{method} {template} ({path}) as ops: {answer}"
        );
        let text = answer.to_string();
        assert!(
            !text.contains("sales-eu") && !text.contains("\"s3\"") && !text.contains("sales-db"),
            "{method} {path} as ops shows sales' data: {text}"
        );
        if status == StatusCode::NOT_FOUND && path.starts_with("/dags/sales_dag") {
            assert!(text.contains("no DAG `sales_dag`"), "{path}: {text}");
        }
    }
    // Lists are filtered.
    let stats = api
        .ok(
            Method::GET,
            "/dagStats?dag_ids=sales_dag,ops_dag",
            "ops-admin",
            None,
        )
        .await;
    assert_eq!(stats["total_entries"], 1, "{stats}");
    assert_eq!(stats["dags"][0]["dag_id"], "ops_dag", "{stats}");
    let dags = api.ok(Method::GET, "/dags", "ops-admin", None).await;
    let ids: Vec<&str> = dags["dags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["dag_id"].as_str())
        .collect();
    assert_eq!(ids, ["ops_dag"], "{dags}");
    let dags = api
        .ok(Method::GET, "/dags?team=sales", "ops-admin", None)
        .await;
    assert_eq!(dags["dags"], json!([]), "{dags}");
    let bundles = api.ok(Method::GET, "/bundles", "ops-admin", None).await;
    assert_eq!(bundles["bundles"], json!([]), "{bundles}");
    let bundles = api.ok(Method::GET, "/bundles", "sales-viewer", None).await;
    assert_eq!(bundles["bundles"][0]["name"], "sales_bundle", "{bundles}");
    let pools = api.ok(Method::GET, "/pools", "ops-admin", None).await;
    let names: Vec<&str> = pools["pools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["default_pool"], "{pools}");
    // ops reads the cluster-wide region (it has none of its own), never sales'.
    let vars = api.ok(Method::GET, "/variables", "ops-admin", None).await;
    assert_eq!(
        vars["variables"],
        json!([{"key": "region", "value": "global-eu", "description": null}]),
        "{vars}"
    );

    // Nothing of sales changed, and sales still reaches all of it.
    let run = api
        .ok(
            Method::GET,
            "/dags/sales_dag/dagRuns/r1",
            "sales-viewer",
            None,
        )
        .await;
    assert_eq!(run["state"], "success", "{run}");
    let dag = api
        .ok(Method::GET, "/dags/sales_dag", "sales-viewer", None)
        .await;
    assert_eq!(dag["is_paused"], false, "{dag}");
    let runs = api
        .ok(Method::GET, "/dags/sales_dag/dagRuns", "sales-viewer", None)
        .await;
    assert_eq!(runs["dag_runs"].as_array().map(Vec::len), Some(1), "{runs}");
    api.ok(
        Method::GET,
        "/dags/sales_dag/dagRuns/r1/taskInstances/t/logs/1",
        "sales-viewer",
        None,
    )
    .await;
    api.ok(
        Method::GET,
        "/dags/sales_dag/versions/1",
        "sales-viewer",
        None,
    )
    .await;
    let pool = api
        .ok(Method::GET, "/pools/sales_pool", "sales-viewer", None)
        .await;
    assert_eq!(pool["slots"], 2, "{pool}");
    let vars = api.ok(Method::GET, "/variables", "sales-admin", None).await;
    let seen: Vec<(&str, &str)> = vars["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["key"].as_str().unwrap(), v["value"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("region", "sales-eu"), ("secret", "s3")], "{vars}");
    // A sales token sees no DAG of another team, nor of none; nor cluster-wide
    // operations.
    let dags = api.ok(Method::GET, "/dags", "sales-viewer", None).await;
    let ids: Vec<&str> = dags["dags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["dag_id"].as_str())
        .collect();
    assert_eq!(ids, ["sales_dag", "sales_extra"], "{dags}");
    for path in ["/dags/shared_dag", "/dags/ops_dag/dagRuns/r1"] {
        let (status, answer) = api.call(Method::GET, path, "sales-admin", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
    }
    let (status, answer) = api
        .call(
            Method::PUT,
            "/pools/default_pool",
            "sales-admin",
            Some(json!({"slots": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = api
        .call(
            Method::PUT,
            "/variables/x",
            "sales-viewer",
            Some(json!({"value": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // The cluster admin sees every team.
    let dags = api.ok(Method::GET, "/dags", "root", None).await;
    assert_eq!(dags["dags"].as_array().map(Vec::len), Some(4), "{dags}");
    let vars = api
        .ok(Method::GET, "/variables?team=sales", "root", None)
        .await;
    assert_eq!(
        vars["variables"].as_array().map(Vec::len),
        Some(2),
        "{vars}"
    );
}
