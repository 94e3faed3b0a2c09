//! The REST API against three real servers: reads on a follower, a write on a
//! follower forwarded to the leader, roles (401/403), problem details, and the
//! OpenAPI document.

use std::path::Path;
use std::time::Duration;

use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAG: &str = "
api_dag:
  schedule: null
  is_paused_upon_creation: true
  tasks:
    extract: {operator: bash, bash_command: 'echo x'}
    load: {operator: bash, bash_command: 'echo y', dependencies: [extract]}
";

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.expect("a body");
        (
            status,
            content_type,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, _, body) = self
            .call(reqwest::Method::GET, path, Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reads_on_followers_forwards_writes_and_checks_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("api-tokens");
    std::fs::write(
        &tokens,
        "viewer view-token\noperator op-token\nadmin admin-token\n",
    )
    .expect("tokens");
    let tokens = tokens.display().to_string();
    let key_file = dir.path().join("variables.key");
    std::fs::write(&key_file, "0f".repeat(32)).expect("key");
    let key_file = key_file.display().to_string();
    let mut flags: Vec<&str> = CALM_TIMINGS.to_vec();
    flags.extend([
        "--api-token-file",
        &tokens,
        "--variables-key-file",
        &key_file,
    ]);
    let cluster =
        Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &flags).expect("cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    cluster
        .client()
        .propose(&[put_dag_command(DAG).expect("a DAG")])
        .await
        .expect("push");
    let http = Http {
        base: format!("http://{}/api/v1", cluster.node(follower).http),
        client: reqwest::Client::new(),
    };

    // Roles: no token 401, a viewer cannot pause, both as problem details.
    let (status, content_type, body) = http.call(reqwest::Method::GET, "/dags", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/problem+json");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("Bearer"),
        "{body}"
    );
    let (status, _, body) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag",
            Some("view-token"),
            Some(json!({"is_paused": false})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["status"], 403);

    // A body that is not what the endpoint takes is a problem too.
    let (status, content_type, body) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag",
            Some("op-token"),
            Some(json!({"paused": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("paused"),
        "{body}"
    );

    // Bad path and query parameters, and unknown endpoints, are problems too.
    for (path, want) in [
        ("/dags?limit=many", StatusCode::BAD_REQUEST),
        ("/dags/api_dag/versions/latest", StatusCode::BAD_REQUEST),
        ("/no/such/endpoint", StatusCode::NOT_FOUND),
    ] {
        let (status, content_type, body) = http
            .call(reqwest::Method::GET, path, Some("view-token"), None)
            .await;
        assert_eq!(status, want, "{path}: {body}");
        assert_eq!(content_type, "application/problem+json", "{path}");
    }

    // Reads on the follower (consistent, so the push is surely there).
    let dags = http.get("/dags?consistent=true", "view-token").await;
    assert_eq!(dags["dags"][0]["dag_id"], "api_dag");
    assert_eq!(dags["dags"][0]["is_paused"], true);
    let (status, _, body) = http
        .call(reqwest::Method::GET, "/dags/nope", Some("view-token"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["detail"].as_str().unwrap_or("").contains("nope"),
        "{body}"
    );

    // Writes on the follower are forwarded: unpause, trigger.
    let (status, _, body) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag",
            Some("op-token"),
            Some(json!({"is_paused": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_paused"], false);
    let (status, _, run) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/dagRuns",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "conf": {"n": 3}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["dag_run_id"], "from_api");
    assert_eq!(run["conf"]["n"], 3);
    let (status, _, again) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/dagRuns",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let runs = http
        .get("/dags/api_dag/dagRuns?consistent=true", "view-token")
        .await;
    assert_eq!(runs["dag_runs"].as_array().map(Vec::len), Some(1));
    let tis = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances?consistent=true",
            "view-token",
        )
        .await;
    let ids: Vec<&str> = tis["task_instances"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(ids, ["extract", "load"]);
    let extract = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract?consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(extract["state"], "queued");
    // No worker runs here: explain says so (the leader's registry, via the follower).
    let explained = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract/explain",
            "view-token",
        )
        .await;
    let reasons = explained["reasons"].to_string();
    assert!(
        reasons.contains("no live worker serves queue `default`"),
        "{reasons}"
    );
    let tries = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract/tries",
            "view-token",
        )
        .await;
    assert_eq!(tries["tries"], json!([]));

    // Mark by hand: extract succeeds, so load is queued in the same entry.
    let (status, _, marked) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract",
            Some("op-token"),
            Some(json!({"new_state": "success"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked["state"], "success");
    let load = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/load?consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(load["state"], "queued");
    let (status, _, body) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag/dagRuns/from_api/taskInstances/load",
            Some("op-token"),
            Some(json!({"new_state": "running"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Clear: downstream is added, only_failed filters, dry_run changes nothing.
    let (status, _, dry) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "task_ids": ["extract"], "include_downstream": true, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry, json!({"task_ids": ["extract", "load"], "cleared": 0}));
    let (_, _, failed_only) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "only_failed": true})),
        )
        .await;
    assert_eq!(failed_only, json!({"task_ids": [], "cleared": 0}));
    let (status, _, cleared) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "task_ids": ["extract"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["cleared"], 1);
    let extract = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract?consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(extract["state"], "queued", "cleared and queued again");
    let xcoms = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances/extract/xcomEntries",
            "view-token",
        )
        .await;
    assert_eq!(xcoms["xcom_entries"], json!([]));

    // Variables: admins write, operators read, the state holds only ciphertext.
    let put = |token: &'static str| {
        http.call(
            reqwest::Method::PUT,
            "/variables/db_password",
            Some(token),
            Some(json!({"value": "hunter2", "description": "the warehouse"})),
        )
    };
    assert_eq!(put("op-token").await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = put("admin-token").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = http
        .call(
            reqwest::Method::GET,
            "/variables/db_password",
            Some("view-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let read = http
        .get("/variables/db_password?consistent=true", "op-token")
        .await;
    assert_eq!(read["value"], "hunter2");
    let stored = cluster
        .client()
        .query(
            &kairos_state::Query::Variable {
                key: "db_password".into(),
            },
            true,
        )
        .await
        .expect("raw read");
    assert_eq!(stored["encrypted"], true);
    assert!(!stored["value"].to_string().contains("hunter2"), "{stored}");
    let listed = http.get("/variables", "op-token").await;
    assert_eq!(listed["variables"][0]["value"], "hunter2");
    let (status, _, _) = http
        .call(
            reqwest::Method::DELETE,
            "/variables/db_password",
            Some("admin-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = http
        .call(
            reqwest::Method::GET,
            "/variables/db_password?consistent=true",
            Some("op-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Pools: admins create and delete; default_pool stays.
    let (status, _, pool) = http
        .call(
            reqwest::Method::PUT,
            "/pools/etl",
            Some("admin-token"),
            Some(json!({"slots": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pool}");
    let pools = http.get("/pools?consistent=true", "view-token").await;
    let names: Vec<&str> = pools["pools"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["default_pool", "etl"]);
    let (status, _, body) = http
        .call(
            reqwest::Method::DELETE,
            "/pools/default_pool",
            Some("admin-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = http
        .call(
            reqwest::Method::DELETE,
            "/pools/etl",
            Some("admin-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A changed DAG makes version 2; the old run still shows version 1's graph.
    let changed = DAG.replace(
        "extract: {operator: bash, bash_command: 'echo x'}",
        "extract: {operator: bash, bash_command: 'echo x', retries: 2}",
    ) + "    report: {operator: bash, bash_command: 'echo r', dependencies: [load]}\n";
    cluster
        .client()
        .propose(&[put_dag_command(&changed).expect("a DAG")])
        .await
        .expect("push version 2");
    let versions = http
        .get("/dags/api_dag/versions?consistent=true", "view-token")
        .await;
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(2));
    let run = http
        .get("/dags/api_dag/dagRuns/from_api", "view-token")
        .await;
    assert_eq!(run["version"], 1);
    let old = http.get("/dags/api_dag/versions/1", "view-token").await;
    let old_tasks: Vec<&str> = old["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(old_tasks, ["extract", "load"]);
    assert_eq!(old["tasks"][1]["upstream"], json!(["extract"]));
    let diff = http
        .get("/dags/api_dag/versions/1/diff/2", "view-token")
        .await;
    assert_eq!(diff["changes"]["tasks_added"], json!(["report"]));
    assert_eq!(diff["changes"]["tasks_removed"], json!([]));
    assert_eq!(
        diff["changes"]["tasks_changed"],
        json!([{"task_id": "extract", "fields": ["retries"]}])
    );
    let file = http
        .get("/dags/api_dag/versions/2/file?key=pushed.yml", "view-token")
        .await;
    assert!(
        file["content"].as_str().unwrap_or("").contains("report"),
        "{file}"
    );

    runs_filters_and_cluster(&http, &cluster, leader).await;

    // The OpenAPI document lists every path.
    let doc = http.get("/openapi.json", "view-token").await;
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with('3')),
        Some(true)
    );
    for path in [
        "/dags",
        "/dags/{dag_id}",
        "/dags/{dag_id}/dagRuns",
        "/dags/{dag_id}/dagRuns/{dag_run_id}",
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/explain",
        "/health",
        "/cluster",
        "/cluster/nodes/{node_id}",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

/// Marking and deleting runs, DAG list filters, and the cluster endpoints.
async fn runs_filters_and_cluster(http: &Http, cluster: &Cluster, leader: u64) {
    let trigger = |run_id: &'static str| {
        http.call(
            reqwest::Method::POST,
            "/dags/api_dag/dagRuns",
            Some("op-token"),
            Some(json!({"dag_run_id": run_id})),
        )
    };
    assert_eq!(trigger("to_mark").await.0, StatusCode::OK);
    // Newest first, as Airflow's `order_by=-logical_date`, whatever the ids say.
    assert_eq!(trigger("a_newest").await.0, StatusCode::OK);
    let newest = http
        .get(
            "/dags/api_dag/dagRuns?order_by=-logical_date&limit=2&consistent=true",
            "view-token",
        )
        .await;
    let ids: Vec<&str> = newest["dag_runs"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["dag_run_id"].as_str())
        .collect();
    assert_eq!(ids, ["a_newest", "to_mark"], "{newest}");
    assert_eq!(newest["next"], "to_mark", "{newest}");
    let (status, _, body) = http
        .call(
            reqwest::Method::GET,
            "/dags/api_dag/dagRuns?order_by=start_date",
            Some("view-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("-logical_date")),
        "{body}"
    );
    let states = |run: Value| -> Vec<String> {
        run["task_instances"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| {
                format!(
                    "{}={}",
                    t["task_id"].as_str().unwrap_or("?"),
                    t["state"].as_str().unwrap_or("none")
                )
            })
            .collect()
    };
    // Marked failed: what has not started is skipped; then marked success: all succeed.
    let mark = |state: &'static str| {
        http.call(
            reqwest::Method::PATCH,
            "/dags/api_dag/dagRuns/to_mark",
            Some("op-token"),
            Some(json!({"state": state})),
        )
    };
    assert_eq!(mark("failed").await.0, StatusCode::OK);
    let run = http
        .get(
            "/dags/api_dag/dagRuns/to_mark?consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(run["state"], "failed", "{run}");
    let tis = http
        .get(
            "/dags/api_dag/dagRuns/to_mark/taskInstances?consistent=true",
            "view-token",
        )
        .await;
    // The run is of version 2, which added `report`.
    assert_eq!(
        states(tis),
        ["extract=skipped", "load=skipped", "report=skipped"]
    );
    let (status, _, run) = mark("success").await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["state"], "success");
    let tis = http
        .get(
            "/dags/api_dag/dagRuns/to_mark/taskInstances?consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(
        states(tis),
        ["extract=success", "load=success", "report=success"]
    );
    let (status, _, body) = mark("running").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/api_dag/dagRuns/to_mark",
            Some("view-token"),
            Some(json!({"state": "failed"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Deleted: gone with its task instances; a second delete is a 404.
    let delete = || {
        http.call(
            reqwest::Method::DELETE,
            "/dags/api_dag/dagRuns/to_mark",
            Some("op-token"),
            None,
        )
    };
    assert_eq!(delete().await.0, StatusCode::NO_CONTENT);
    let (status, _, _) = http
        .call(
            reqwest::Method::GET,
            "/dags/api_dag/dagRuns/to_mark?consistent=true",
            Some("view-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = delete().await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Backfill: the runs of every logical date in the range, at once; a DAG without
    // a schedule has no dates to fill.
    cluster
        .client()
        .propose(&[put_dag_command(
            "daily_dag:\n  schedule: '@daily'\n  start_date: 2026-01-01\n  is_paused_upon_creation: true\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n",
        )
        .expect("a DAG")])
        .await
        .expect("push");
    let backfill = |dag: &'static str| {
        http.call(
            reqwest::Method::POST,
            "/backfills",
            Some("op-token"),
            Some(json!({"dag_id": dag, "from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-03T00:00:00Z", "max_active_runs": 2})),
        )
    };
    let (status, _, created) = backfill("daily_dag").await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        created["dag_run_ids"].as_array().map(Vec::len),
        Some(3),
        "{created}"
    );
    let again = backfill("daily_dag").await.2;
    assert_eq!(
        again["skipped"], 3,
        "dates with runs are left alone: {again}"
    );
    let (status, _, body) = backfill("api_dag").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // DAG list filters: tags (any of them, repeated), paused, an id substring.
    cluster
        .client()
        .propose(&[put_dag_command(
            "tagged_dag:\n  tags: [nightly, etl]\n  is_paused_upon_creation: true\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n",
        )
        .expect("a DAG")])
        .await
        .expect("push");
    let ids = |list: Value| -> Vec<String> {
        list["dags"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|d| d["dag_id"].as_str().map(str::to_string))
            .collect()
    };
    for (query, want) in [
        ("tags=etl", vec!["tagged_dag"]),
        ("tags=nope&tags=nightly", vec!["tagged_dag"]),
        ("tags=nope", vec![]),
        ("paused=false", vec!["api_dag"]),
        ("paused=true", vec!["daily_dag", "tagged_dag"]),
        ("dag_id_pattern=api_", vec!["api_dag"]),
        ("paused=true&limit=1", vec!["daily_dag"]),
        ("paused=true&limit=1&after=daily_dag", vec!["tagged_dag"]),
    ] {
        let list = http
            .get(&format!("/dags?consistent=true&{query}"), "view-token")
            .await;
        assert_eq!(ids(list), want, "{query}");
    }

    // Health needs no token (here under the API; cluster_reads.rs reads the root's);
    // the cluster view does, and a path that merely ends in /health is no exception.
    let (status, _, health) = http.call(reqwest::Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["leader_id"], leader);
    assert_eq!(health["initialized"], true);
    let (status, _, _) = http
        .call(reqwest::Method::GET, "/cluster", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = http
        .call(
            reqwest::Method::PATCH,
            "/dags/health",
            None,
            Some(json!({"bad": true})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let view = http.get("/cluster", "view-token").await;
    let members = view["members"].as_array().expect("members");
    assert_eq!(members.len(), 3, "{view}");
    assert!(
        members
            .iter()
            .all(|m| m["status"]["term"].as_u64() > Some(0)),
        "{view}"
    );
    let roles: Vec<&str> = members
        .iter()
        .filter_map(|m| m["status"]["role"].as_str())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "leader").count(),
        1,
        "{view}"
    );

    // Task instances and versions come a page at a time.
    let first = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances?limit=1&consistent=true",
            "view-token",
        )
        .await;
    assert_eq!(first["task_instances"][0]["task_id"], "extract");
    assert_eq!(first["next"], "extract:-1");
    let second = http
        .get(
            "/dags/api_dag/dagRuns/from_api/taskInstances?limit=1&after=extract:-1",
            "view-token",
        )
        .await;
    assert_eq!(second["task_instances"][0]["task_id"], "load");
    let versions = http
        .get("/dags/api_dag/versions?limit=1&after=1", "view-token")
        .await;
    assert_eq!(versions["versions"][0]["version"], 2, "{versions}");
    let (status, _, _) = http
        .call(
            reqwest::Method::GET,
            "/dags/api_dag/versions?after=latest",
            Some("view-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A DAG file may be up to 16 MiB with its files; other bodies 1 MiB. A DAG
    // named `push` is an ordinary DAG id.
    let big_comment = format!("# {}\n", "x".repeat(2 * 1024 * 1024));
    let (status, _, body) = http
        .call(
            reqwest::Method::POST,
            "/dagFiles",
            Some("op-token"),
            Some(json!({
                "file_name": "push.yml",
                "content": "push:\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n",
                "files": {"notes.txt": big_comment},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        http.get("/dags/push?consistent=true", "view-token").await["dag_id"],
        "push"
    );
    let (status, _, body) = http
        .call(
            reqwest::Method::PUT,
            "/variables/huge",
            Some("admin-token"),
            Some(json!({"value": big_comment})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // No token: 401 before the body is even read; the OpenAPI document is public.
    let (status, _, body) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/dagRuns",
            None,
            Some(json!({"not": "a trigger"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, _) = http
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // Reads about a task instance that does not exist are 404s.
    for path in [
        "/dags/api_dag/dagRuns/from_api/taskInstances/ghost",
        "/dags/api_dag/dagRuns/from_api/taskInstances/ghost/tries",
        "/dags/api_dag/dagRuns/from_api/taskInstances/ghost/explain",
        "/dags/api_dag/dagRuns/from_api/taskInstances/ghost/xcomEntries?map_index=-1",
        "/dags/api_dag/dagRuns/no_run/taskInstances/extract/xcomEntries",
        "/dags/api_dag/dagRuns/from_api/taskInstances/extract?map_index=5",
    ] {
        let (status, _, body) = http
            .call(reqwest::Method::GET, path, Some("view-token"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }

    // Membership is for admins, and a bad address is refused before Raft sees it.
    let add = |token: &'static str, addr: &'static str| {
        http.call(
            reqwest::Method::POST,
            "/cluster/nodes",
            Some(token),
            Some(json!({"node_id": 9, "grpc_addr": addr})),
        )
    };
    assert_eq!(
        add("op-token", "127.0.0.1:1").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _, body) = add("admin-token", "nowhere").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = http
        .call(
            reqwest::Method::DELETE,
            "/cluster/nodes/2",
            Some("op-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = http
        .call(
            reqwest::Method::DELETE,
            "/cluster/nodes/9",
            Some("admin-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Node 1 already votes.
    let (status, _, body) = http
        .call(
            reqwest::Method::POST,
            "/cluster/nodes",
            Some("admin-token"),
            Some(json!({"node_id": 1, "grpc_addr": "127.0.0.1:1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}
