//! Assets in DAG files: outlets and inlets in every form dag-factory reads,
//! schedules on assets (lists, `__and__`/`__or__`, condition strings, names
//! from a definitions file, assets or time), and their errors.

use super::support::{errors, load_with, only_dag};
use crate::asset::{AssetCondition, AssetRef};
use crate::timetable::Schedule;

const DEFS: &str = "datasets:\n  - {name: one, uri: s3://b/one}\n  - {name: two, uri: s3://b/two}\n  - {name: three, uri: s3://b/three}\n";

fn asset(uri: &str) -> AssetCondition {
    AssetCondition::Asset(uri.into())
}

#[test]
fn outlets_and_inlets_in_every_form() {
    let f = load_with(
        "d:\n  tasks:\n    t:\n      operator: empty\n      outlets:\n        - s3://b/x\n        - {__type__: airflow.sdk.Asset, uri: 'file:///data.csv', name: data}\n        - {__type__: airflow.datasets.DatasetAlias, name: dyn}\n      inlets: ['s3://b/in']\n    u:\n      operator: empty\n      outlets: {file: $CONFIG_ROOT_DIR/defs.yml, datasets: [one, two]}\n",
        &[("defs.yml", DEFS)],
    );
    let v = only_dag(&f);
    let t = v.dag.task("t").expect("t");
    assert_eq!(
        t.outlets,
        vec![
            AssetRef::Asset {
                uri: "s3://b/x".into(),
                name: None
            },
            AssetRef::Asset {
                uri: "file:///data.csv".into(),
                name: Some("data".into())
            },
            AssetRef::Alias { name: "dyn".into() },
        ]
    );
    assert_eq!(t.inlets.len(), 1);
    let u = v.dag.task("u").expect("u");
    let uris: Vec<&str> = u.outlets.iter().filter_map(AssetRef::uri).collect();
    assert_eq!(uris, vec!["s3://b/one", "s3://b/two"]);
    assert!(
        v.files.contains_key("defs.yml"),
        "the definitions ship with the version"
    );
}

#[test]
fn schedules_on_assets_in_every_form() {
    let cases: Vec<(&str, AssetCondition)> = vec![
        (
            "schedule: ['s3://a', 's3://b']",
            AssetCondition::All(vec![asset("s3://a"), asset("s3://b")]),
        ),
        (
            "schedule: [{__type__: airflow.sdk.Asset, uri: 'file:///d.csv', name: d}]",
            AssetCondition::All(vec![asset("file:///d.csv")]),
        ),
        (
            "schedule: {datasets: {__or__: [{__and__: [s3://a, s3://b]}, s3://c]}}",
            AssetCondition::Any(vec![
                AssetCondition::All(vec![asset("s3://a"), asset("s3://b")]),
                asset("s3://c"),
            ]),
        ),
        (
            "schedule: {datasets: '((s3://a & s3://b) | s3://c)'}",
            AssetCondition::Any(vec![
                AssetCondition::All(vec![asset("s3://a"), asset("s3://b")]),
                asset("s3://c"),
            ]),
        ),
        (
            "schedule: {file: $CONFIG_ROOT_DIR/defs.yml, datasets: '(one & two) | three'}",
            AssetCondition::Any(vec![
                AssetCondition::All(vec![asset("s3://b/one"), asset("s3://b/two")]),
                asset("s3://b/three"),
            ]),
        ),
    ];
    for (schedule, want) in cases {
        let yaml = format!("d:\n  {schedule}\n  tasks: {{t: {{operator: empty}}}}\n");
        let f = load_with(&yaml, &[("defs.yml", DEFS)]);
        let v = only_dag(&f);
        assert_eq!(v.dag.asset_schedule.as_ref(), Some(&want), "{schedule}");
        assert_eq!(v.dag.schedule, Schedule::None, "{schedule}");
    }
}

#[test]
fn assets_or_time() {
    let f = load_with(
        "d:\n  start_date: 2024-01-01\n  schedule:\n    datasets: 'a | b'\n    timetable: {__type__: airflow.timetables.trigger.CronTriggerTimetable, cron: '0 1 * * 5', timezone: UTC}\n  tasks: {t: {operator: empty}}\n",
        &[],
    );
    let v = only_dag(&f);
    assert!(v.dag.schedule.is_periodic(), "{:?}", v.dag.schedule);
    assert_eq!(
        v.dag.asset_schedule,
        Some(AssetCondition::Any(vec![asset("a"), asset("b")]))
    );
}

#[test]
fn a_definitions_file_is_not_a_dag_file_and_bad_assets_say_why() {
    let f = load_with(DEFS, &[]);
    assert!(
        f.dags.is_empty() && f.diagnostics.is_empty(),
        "{:?}",
        f.diagnostics
    );
    let f = load_with(
        "d:\n  schedule: {file: $CONFIG_ROOT_DIR/defs.yml, datasets: 'one & four'}\n  tasks: {t: {operator: empty}}\n",
        &[("defs.yml", DEFS)],
    );
    let errs = errors(&f);
    assert!(
        errs.iter().any(|e| e.2.contains("no dataset `four`")),
        "{errs:?}"
    );
    let f = load_with(
        "d:\n  schedule: {datasets: '(a & b'}\n  tasks: {t: {operator: empty}}\n",
        &[],
    );
    let errs = errors(&f);
    assert!(errs.iter().any(|e| e.2.contains("not closed")), "{errs:?}");
    let f = load_with(
        "d:\n  tasks:\n    t: {operator: empty, outlets: [{__type__: airflow.sdk.Thing, uri: x}]}\n",
        &[],
    );
    let errs = errors(&f);
    assert!(
        errs.iter().any(|e| e.2.contains("not an asset type")),
        "{errs:?}"
    );
}
