//! The API test itself, on one cluster of three servers. It stays one test:
//! each step reads what the steps before it wrote (the pushed DAG, the run
//! `from_api`, version 2), so the steps cannot run apart or in another order.

use std::path::Path;
use std::time::Duration;

use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};
use reqwest::StatusCode;
use serde_json::json;

use crate::http::Http;
use crate::runs_filters_and_cluster::runs_filters_and_cluster;

const DAG: &str = "
api_dag:
  schedule: null
  is_paused_upon_creation: true
  tasks:
    extract: {operator: bash, bash_command: 'echo x'}
    load: {operator: bash, bash_command: 'echo y', dependencies: [extract]}
";

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
    // No schedule, no next run.
    assert!(dags["dags"][0]["next_dagrun"].is_null(), "{dags}");
    assert!(
        dags["dags"][0]["next_dagrun_create_after"].is_null(),
        "{dags}"
    );
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
            Some(json!({"new_state": "success", "dry_run": false})),
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

    // Clear: downstream is added, only_failed filters, dry_run changes nothing
    // (Airflow's defaults: a dry run of failed instances only).
    let (status, _, dry) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "task_ids": ["extract"], "include_downstream": true, "only_failed": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["task_ids"], json!(["extract", "load"]), "{dry}");
    assert_eq!(dry["cleared"], 0, "{dry}");
    assert_eq!(
        dry["task_instances"][1],
        json!({"dag_id": "api_dag", "dag_run_id": "from_api", "task_id": "load",
               "execution_date": dry["task_instances"][0]["execution_date"]}),
        "{dry}"
    );
    let (_, _, failed_only) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "only_failed": true, "dry_run": false})),
        )
        .await;
    assert_eq!(
        failed_only,
        json!({"task_ids": [], "cleared": 0, "task_instances": []})
    );
    let (status, _, cleared) = http
        .call(
            reqwest::Method::POST,
            "/dags/api_dag/clearTaskInstances",
            Some("op-token"),
            Some(json!({"dag_run_id": "from_api", "task_ids": ["extract"], "dry_run": false, "only_failed": false})),
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
