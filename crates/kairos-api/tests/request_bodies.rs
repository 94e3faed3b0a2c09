//! The server refuses unknown fields in every body it takes: what a client
//! writes with these types must read back, field for field.

use std::collections::BTreeMap;

use kairos_api::{
    BackfillRequest, ClearRequest, InitCluster, MarkRequest, NewMember, PoolBody, PushRequest,
    Reprocess, VariableBody,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Writes `body` as JSON and reads it back as the server would.
fn round_trip<T: Serialize + DeserializeOwned>(body: &T) -> (String, T) {
    let text = serde_json::to_string(body).expect("serializes");
    let back = serde_json::from_str(&text).expect("reads back");
    (text, back)
}

#[test]
fn every_request_body_reads_back_as_the_server_reads_it() {
    let (_, back) = round_trip(&BackfillRequest {
        dag_id: "d".into(),
        from_date: "2026-01-01T00:00:00Z".parse().expect("date"),
        to_date: "2026-01-03T00:00:00Z".parse().expect("date"),
        reprocess_behavior: Reprocess::Failed,
        max_active_runs: 3,
        dag_run_conf: BTreeMap::from([("k".to_string(), serde_json::json!(1.5))]),
    });
    assert_eq!(back.reprocess_behavior, Reprocess::Failed);
    assert_eq!(back.max_active_runs, 3);
    assert_eq!(back.dag_run_conf["k"], serde_json::json!(1.5));

    let (text, back) = round_trip(&ClearRequest {
        dag_run_id: Some("r".into()),
        task_ids: vec!["a".into()],
        include_downstream: true,
        only_failed: false,
        ..ClearRequest::default()
    });
    assert!(
        back.include_downstream && back.dry_run && !back.only_failed,
        "{text}"
    );
    // Airflow's defaults: a body that says nothing is a dry run of failures.
    let bare: ClearRequest = serde_json::from_str("{}").expect("reads");
    assert!(bare.dry_run && bare.only_failed && bare.dag_run_id.is_none());

    let (_, back) = round_trip(&MarkRequest {
        new_state: "success".into(),
        note: None,
        dry_run: false,
    });
    assert!(!back.dry_run);
    assert_eq!(back.new_state, "success");

    let (_, back) = round_trip(&PushRequest {
        file_name: "etl.yml".into(),
        content: "etl: {}".into(),
        evaluated: None,
        files: BTreeMap::from([("sql/a.sql".to_string(), "select 1".to_string())]),
        bundle: None,
        team: None,
    });
    assert_eq!(back.files.len(), 1);

    let (_, back) = round_trip(&InitCluster {
        members: vec![NewMember {
            node_id: 1,
            grpc_addr: "127.0.0.1:7070".into(),
            http_addr: String::new(),
        }],
    });
    assert_eq!(back.members[0].node_id, 1);

    let (_, back) = round_trip(&PoolBody {
        slots: 4,
        description: Some("etl".into()),
        include_deferred: true,
        team: Some("sales".into()),
    });
    assert_eq!(back.team.as_deref(), Some("sales"));
    assert!(back.include_deferred);

    let (_, back) = round_trip(&VariableBody {
        value: "v".into(),
        description: None,
    });
    assert_eq!(back.value, "v");
}

#[test]
fn defaults_are_what_airflow_takes() {
    let request: BackfillRequest = serde_json::from_str(
        r#"{"dag_id":"d","from_date":"2026-01-01T00:00:00Z","to_date":"2026-01-02T00:00:00Z"}"#,
    )
    .expect("a minimal backfill");
    assert_eq!(request.reprocess_behavior, Reprocess::None);
    assert_eq!(request.max_active_runs, 10);
    assert!(request.dag_run_conf.is_empty());
}
