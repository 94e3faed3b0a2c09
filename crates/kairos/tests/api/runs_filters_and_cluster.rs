//! The later steps of the API walkthrough: marking and deleting runs,
//! backfills, DAG list filters, health and the cluster view, paging, body
//! limits, 404s for what does not exist, and membership.

use kairos_testkit::{Cluster, put_dag_command};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::http::Http;

/// Marking and deleting runs, DAG list filters, and the cluster endpoints.
pub async fn runs_filters_and_cluster(http: &Http, cluster: &Cluster, leader: u64) {
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
    // The grid pages back the same way: `older` names the run to ask before.
    let page = http
        .get("/dags/api_dag/grid?consistent=true&limit=1", "view-token")
        .await;
    let run_ids = |page: &Value| -> Vec<String> {
        page["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .filter_map(|r| r["run_id"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(run_ids(&page), ["a_newest"], "{page}");
    assert_eq!(page["older"], "a_newest", "{page}");
    let back = http
        .get(
            "/dags/api_dag/grid?consistent=true&limit=1&before=a_newest",
            "view-token",
        )
        .await;
    assert_eq!(run_ids(&back), ["to_mark"], "{back}");
    let (status, _, body) = http
        .call(
            reqwest::Method::GET,
            "/dags/api_dag/grid?before=no_such_run",
            Some("view-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no_such_run")),
        "{body}"
    );
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

    // The state as a snapshot streams whole, also through gzip (a compressing
    // layer polls the body past its end: that once broke the answer off).
    let snapshot = |encoding: &'static str| {
        http.client
            .get(format!("{}/cluster/snapshot", http.base))
            .bearer_auth("admin-token")
            .header("accept-encoding", encoding)
            .send()
    };
    let plain = snapshot("identity").await.expect("the API answers");
    assert_eq!(plain.status(), StatusCode::OK);
    let plain = plain.bytes().await.expect("the whole snapshot");
    kairos_state::snapshot::check_snapshot(&plain[..], plain.len() as u64, |_| {})
        .expect("a whole, sound snapshot");
    let zipped = snapshot("gzip").await.expect("the API answers");
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(
        zipped
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let zipped = zipped.bytes().await.expect("the whole gzipped snapshot");
    assert!(!zipped.is_empty() && zipped.len() < plain.len());
}
