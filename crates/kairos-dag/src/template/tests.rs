use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value as Json, json};

use super::*;
use crate::lifecycle::RunType;
use crate::load::{LoadOptions, load_bytes};
use crate::timetable::DataInterval;
use crate::version::VersionContent;

fn dag() -> VersionContent {
    let yaml = "d:\n  params: {x: 1, y: a}\n  tasks:\n    t:\n      operator: bash\n      bash_command: echo\n      params: {z: task}\n";
    let disk: BTreeMap<std::path::PathBuf, Vec<u8>> = BTreeMap::new();
    let mut f = load_bytes(
        "d.yml",
        Path::new("/d/d.yml"),
        yaml.as_bytes(),
        &disk,
        &LoadOptions::default(),
    );
    assert!(!f.has_errors(), "{:?}", f.diagnostics);
    f.dags.remove(0)
}

struct FakeCluster;

impl XComSource for FakeCluster {
    fn pull(&self, task_id: &str, key: &str) -> Result<Option<Json>, String> {
        Ok(match (task_id, key) {
            ("extract", "return_value") => Some(json!({"rows": 42})),
            ("extract", "path") => Some(json!("/data/x.csv")),
            ("other", "return_value") => Some(json!(7)),
            _ => None,
        })
    }
}

impl VariableSource for FakeCluster {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(match name {
            "env" => Some("prod".into()),
            "cfg" => Some(r#"{"buckets": ["a", "b"]}"#.into()),
            _ => None,
        })
    }
}

fn ctx(prev: bool) -> minijinja::Value {
    let v = dag();
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let end = Utc
        .with_ymd_and_hms(2024, 1, 2, 0, 0, 0)
        .single()
        .expect("valid");
    let run = RunFacts {
        run_id: RunType::Scheduled.run_id(start, None),
        run_type: RunType::Scheduled,
        logical_date: Some(start),
        data_interval: Some(DataInterval { start, end }),
        run_after: end,
        conf: BTreeMap::from([("x".to_string(), json!(2))]),
        prev_success: prev.then_some(DataInterval {
            start: start - chrono::TimeDelta::days(1),
            end: start,
        }),
        triggering_asset_events: Vec::new(),
    };
    let sources = Sources {
        xcom: Arc::new(FakeCluster),
        variables: Arc::new(FakeCluster),
        now: Utc
            .with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
            .single()
            .expect("valid"),
    };
    let task = v.dag.task("t").expect("t").clone();
    build_context(
        &v.dag,
        &task,
        &run,
        &TaskInstanceFacts {
            try_number: 2,
            map_index: -1,
        },
        &sources,
    )
}

fn render(t: &str) -> String {
    Renderer::new()
        .render(t, &ctx(true))
        .unwrap_or_else(|e| panic!("{t}: {e}"))
}

#[test]
fn airflow_context_values() {
    let cases = [
        ("{{ ds }}", "2024-01-01"),
        ("{{ ds_nodash }}", "20240101"),
        ("{{ ts }}", "2024-01-01T00:00:00+00:00"),
        ("{{ ts_nodash }}", "20240101T000000"),
        ("{{ ts_nodash_with_tz }}", "20240101T000000+0000"),
        ("{{ logical_date }}", "2024-01-01T00:00:00+00:00"),
        ("{{ data_interval_start }}", "2024-01-01T00:00:00+00:00"),
        ("{{ data_interval_end }}", "2024-01-02T00:00:00+00:00"),
        ("{{ prev_data_interval_start_success | ds }}", "2023-12-31"),
        ("{{ run_id }}", "scheduled__2024-01-01T00:00:00+00:00"),
        (
            "{{ dag_run.run_id }}",
            "scheduled__2024-01-01T00:00:00+00:00",
        ),
        ("{{ dag_run.conf.x }}", "2"),
        ("{{ dag_run.conf.get('missing', 'dflt') }}", "dflt"),
        ("{{ dag.dag_id }}.{{ task.task_id }}", "d.t"),
        ("{{ ti.try_number }}", "2"),
        ("{{ task_instance.map_index }}", "-1"),
        ("{{ task_instance_key_str }}", "d__t__20240101"),
        // params: the DAG's, the task's, then the trigger's conf over them.
        ("{{ params.x }} {{ params.y }} {{ params.z }}", "2 a task"),
        ("{{ macros.ds_add(ds, -1) }}", "2023-12-31"),
        ("{{ macros.ds_add(ds, 31) }}", "2024-02-01"),
        (
            "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}",
            "01/01/2024",
        ),
        (
            "{{ macros.datetime(2021, 3, 4) }}",
            "2021-03-04T00:00:00+00:00",
        ),
        (
            "{{ macros.datetime.now() | ts }}",
            "2024-01-02T03:04:05+00:00",
        ),
        (
            "{{ macros.datetime.strptime('2024-05-06', '%Y-%m-%d') | ds_nodash }}",
            "20240506",
        ),
        ("{{ logical_date.strftime('%Y/%m') }}", "2024/01"),
        (
            "{{ logical_date.add(months=1, days=2) | ds }}",
            "2024-02-03",
        ),
        (
            "{{ logical_date.subtract(hours=1) }}",
            "2023-12-31T23:00:00+00:00",
        ),
        (
            "{{ logical_date.in_timezone('Asia/Tokyo') }}",
            "2024-01-01T09:00:00+09:00",
        ),
        (
            "{{ logical_date.year }}-{{ logical_date.strftime('%m') }}",
            "2024-01",
        ),
        ("{{ data_interval_end > data_interval_start }}", "True"),
        ("{{ 'a,b' .split(',') | length }}", "2"),
        ("{{ ti.xcom_pull(task_ids='extract')['rows'] }}", "42"),
        ("{{ ti.xcom_pull('extract', key='path') }}", "/data/x.csv"),
        ("{{ ti.xcom_pull(task_ids=['extract', 'other'])[1] }}", "7"),
        (
            "{{ ti.xcom_pull(task_ids='nothing', default='none') }}",
            "none",
        ),
        ("{{ var.value.env }}", "prod"),
        ("{{ var.value.get('missing', 'fallback') }}", "fallback"),
        ("{{ var.json.cfg.buckets[1] }}", "b"),
    ];
    for (template, want) in cases {
        assert_eq!(render(template), want, "{template}");
    }
}

#[test]
fn undefined_names_are_errors_like_strict_undefined() {
    let r = Renderer::new();
    let err = r
        .render("{{ no_such_thing }}", &ctx(true))
        .expect_err("undefined");
    assert!(err.message.contains("undefined"), "{err}");
    assert!(r.render("{{ var.value.missing }}", &ctx(true)).is_err());
    // Without a previous success, the prev_* keys are None (not undefined).
    assert_eq!(
        r.render("{{ prev_data_interval_start_success }}", &ctx(false))
            .as_deref(),
        Ok("None"),
        "None prints as Jinja2 prints it"
    );
}

#[test]
fn date_arithmetic_out_of_range_is_an_error_not_a_panic() {
    let r = Renderer::new();
    for t in [
        "{{ logical_date.add(weeks=15000000000, days=2000000000) }}",
        "{{ logical_date.add(years=768614336404564651) }}",
        "{{ logical_date.subtract(months=9223372036854775807) }}",
        "{{ logical_date.add(seconds=9223372036854775807) }}",
    ] {
        let err = r.render(t, &ctx(true)).expect_err(t);
        assert!(err.message.contains("out of range"), "{t}: {err}");
    }
}

#[test]
fn runaway_templates_run_out_of_fuel() {
    let err = Renderer::new()
        .render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &ctx(true),
        )
        .expect_err("out of fuel");
    assert!(err.message.to_lowercase().contains("fuel"), "{err}");
}

#[test]
fn nested_fields_and_native_rendering() {
    let r = Renderer::new();
    let c = ctx(true);
    let rendered = r
        .render_json(
            &json!({"a": ["{{ ds }}", 1], "b": {"c": "{{ params.y }}"}}),
            &c,
        )
        .expect("renders");
    assert_eq!(rendered, json!({"a": ["2024-01-01", 1], "b": {"c": "a"}}));
    assert_eq!(
        r.render_native("{{ [1, params.x] }}", &c),
        Ok(json!([1, 2]))
    );
    assert_eq!(
        r.render_native("{{ ti.xcom_pull(task_ids='extract') }}", &c),
        Ok(json!({"rows": 42}))
    );
    assert_eq!(
        r.render_native("[{{ params.x }}, 3]", &c),
        Ok(json!([2, 3]))
    );
    assert_eq!(
        r.render_native("day {{ ds }}", &c),
        Ok(json!("day 2024-01-01"))
    );
}

#[test]
fn runs_without_a_logical_date_have_no_date_keys() {
    let v = dag();
    let now = Utc
        .with_ymd_and_hms(2024, 1, 2, 0, 0, 0)
        .single()
        .expect("valid");
    let run = RunFacts {
        run_id: "manual__x".into(),
        run_type: RunType::Manual,
        logical_date: None,
        data_interval: None,
        run_after: now,
        conf: BTreeMap::new(),
        prev_success: None,
        triggering_asset_events: Vec::new(),
    };
    let task = v.dag.task("t").expect("t").clone();
    let c = build_context(
        &v.dag,
        &task,
        &run,
        &TaskInstanceFacts {
            try_number: 1,
            map_index: -1,
        },
        &Sources::none(now),
    );
    let r = Renderer::new();
    assert!(
        r.render("{{ ds }}", &c).is_err(),
        "ds is absent, as in Airflow 3"
    );
    assert_eq!(
        r.render("{{ run_after | ds }}", &c).as_deref(),
        Ok("2024-01-02")
    );
    assert!(
        r.render("{{ ti.xcom_pull(task_ids='a') }}", &c).is_err(),
        "no XCom source"
    );
}

/// The names `dags validate` accepts are the names a task's context has.
#[test]
fn the_checked_names_are_the_context_names() {
    let ctx = ctx(true);
    let mut keys: Vec<String> = ctx
        .try_iter()
        .expect("a map")
        .map(|k| k.to_string())
        .collect();
    keys.sort();
    let mut names: Vec<String> = super::CONTEXT_NAMES.iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(keys, names);
}
