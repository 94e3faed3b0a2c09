//! Tests of the bounded grammar for templates the server renders (`server.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::load::{LoadOptions, load_bytes};

fn load(target_time: &str) -> crate::load::LoadedFile {
    let yaml = format!(
        "d:\n  tasks:\n    w:\n      operator: date_time_sensor\n      target_time: {}\n",
        serde_json::to_string(target_time).unwrap()
    );
    let disk: BTreeMap<std::path::PathBuf, Vec<u8>> = BTreeMap::new();
    load_bytes(
        "d.yml",
        Path::new("/d/d.yml"),
        yaml.as_bytes(),
        &disk,
        &LoadOptions::default(),
    )
}

#[test]
fn the_date_time_templates_people_write_are_accepted() {
    for t in [
        "{{ data_interval_end }}",
        "{{ data_interval_end.add(hours=1) }}",
        "{{ macros.ds_add(ds, 1) }}T06:00:00+00:00",
        "{{ (data_interval_end | ts) if dag_run.conf.get('at') is not defined else dag_run.conf.get('at') }}",
        "{{ dag_run.conf.get('at', ts) }}",
        "{{ ds }} {{ params.hour | default('06') }}:00",
    ] {
        check_server_template(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        let f = load(t);
        assert!(!f.has_errors(), "{t}: {:?}", f.diagnostics);
    }
}

#[test]
fn a_template_that_repeats_text_is_refused_before_anything_is_built() {
    let bomb = format!("{{{{ {} }}}}", vec!["('x' * 100000000)"; 8].join(" ~ "));
    let err = check_server_template(&bomb).unwrap_err();
    assert!(err.contains("`*`") && err.contains("line 1"), "{err}");
    for t in [
        "{% for i in range(100000000) %}x{% endfor %}",
        "{{ 'x' | repeat(10) }}",
        "{{ [ds] * 3 }}",
        "{{ ds.replace('-', ds) }}",
        "{{ xcom_pull('t') }}",
    ] {
        assert!(check_server_template(t).is_err(), "{t}");
    }
    let long = format!("{{{{ ds }}}}{}", " ".repeat(MAX_SERVER_TEMPLATE_BYTES));
    assert!(
        check_server_template(&long)
            .unwrap_err()
            .contains("at most")
    );
}

#[test]
fn the_loader_refuses_a_template_bomb_with_the_field_and_the_reason() {
    let f = load("{{ 'x' * 100000000 ~ 'x' * 100000000 }}");
    assert!(f.has_errors());
    let text = format!("{:?}", f.diagnostics);
    assert!(
        text.contains("target_time") && text.contains("not accepted"),
        "{text}"
    );
}

#[test]
fn a_render_is_refused_when_the_runs_values_could_build_too_much() {
    let conf = "y".repeat(200_000);
    let ctx = minijinja::Value::from(minijinja::value::Serde(serde_json::json!({
        "ds": "2024-01-01",
        "dag_run": {"conf": {"big": conf}},
    })));
    let many = vec!["dag_run.conf.big"; 40].join(" ~ ");
    let err = render_on_server(&Renderer::new(), &format!("{{{{ {many} }}}}"), &ctx).unwrap_err();
    assert!(err.contains("at most"), "{err}");
    let ok = render_on_server(&Renderer::new(), "{{ ds }}T00:00:00", &ctx).unwrap();
    assert_eq!(ok, "2024-01-01T00:00:00");
}
