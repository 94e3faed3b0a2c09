//! Callbacks in every form dag-factory reads (`module.fn`, a list, `{callback:
//! path, **kwargs}`, `_name` + `_file`), inherited from a DAG's or a task
//! group's `default_args` and overridden by the task, the DAG's own, and their
//! errors.

use serde_json::json;

use super::support::{errors, load, load_with, only_dag};
use crate::callback::{Callback, CallbackKind};
use crate::operator::PythonCallable;

fn module(module: &str, name: &str) -> Callback {
    Callback {
        target: PythonCallable::Module {
            module: module.into(),
            name: name.into(),
        },
        kwargs: Default::default(),
    }
}

const CB: &str = "def hello(context):\n    print(context['task_id'])\n";

#[test]
fn every_form_on_tasks_groups_and_default_args() {
    let f = load_with(
        "\
d:
  default_args:
    on_retry_callback: alerts.retry
    on_failure_callback:
      callback: alerts.notify
      channel: '#data'
      text: failed
  on_success_callback:
    callback: alerts.dag_done
    level: 2
  on_failure_callback_name: hello
  on_failure_callback_file: $CONFIG_ROOT_DIR/cb.py
  task_groups:
    g:
      default_args:
        on_success_callback: [alerts.one, alerts.two]
  tasks:
    plain:
      operator: empty
    own:
      operator: empty
      on_execute_callback_name: hello
      on_execute_callback_file: $CONFIG_ROOT_DIR/cb.py
      on_failure_callback: null
      on_skipped_callback: alerts.skipped
    grouped:
      operator: empty
      task_group_name: g
",
        &[("cb.py", CB)],
    );
    let v = only_dag(&f);
    let plain = &v.dag.task("plain").expect("plain").callbacks;
    assert_eq!(plain.on_retry, vec![module("alerts", "retry")]);
    let mut notify = module("alerts", "notify");
    notify.kwargs = [("channel", json!("#data")), ("text", json!("failed"))]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(plain.on_failure, vec![notify.clone()]);
    assert!(plain.on_success.is_empty() && plain.on_execute.is_empty());

    let own = &v.dag.task("own").expect("own").callbacks;
    assert_eq!(
        own.on_execute,
        vec![Callback {
            target: PythonCallable::File {
                file: "cb.py".into(),
                name: "hello".into()
            },
            kwargs: Default::default(),
        }]
    );
    assert!(
        own.on_failure.is_empty(),
        "null turns the inherited one off"
    );
    assert_eq!(own.on_retry, vec![module("alerts", "retry")]);
    assert_eq!(own.on_skipped, vec![module("alerts", "skipped")]);

    let grouped = &v.dag.task("g.grouped").expect("grouped").callbacks;
    assert_eq!(
        grouped.on_success,
        vec![module("alerts", "one"), module("alerts", "two")]
    );
    assert_eq!(grouped.on_failure, vec![notify]);

    // The DAG's own are not the tasks'.
    let dag = &v.dag.callbacks;
    assert_eq!(dag.on_success.len(), 1);
    assert_eq!(dag.on_success[0].kwargs["level"], json!(2));
    assert_eq!(dag.of(CallbackKind::Failure).len(), 1);
    assert!(
        v.files.contains_key("cb.py"),
        "the callback's file ships with the version"
    );
}

#[test]
fn a_dag_level_execute_callback_is_a_warning_as_dag_factory_drops_it() {
    let f = load_with(
        "d:\n  on_execute_callback_name: hello\n  on_execute_callback_file: $CONFIG_ROOT_DIR/cb.py\n  tasks:\n    t: {operator: empty}\n",
        &[("cb.py", CB)],
    );
    let v = only_dag(&f);
    assert!(v.dag.callbacks.is_empty());
    assert!(
        f.diagnostics.iter().any(|d| !d.is_error()
            && d.to_string()
                .contains("Airflow's DAG has no on_execute_callback")),
        "{:?}",
        f.diagnostics
    );
}

#[test]
fn bad_callbacks_are_errors_that_say_what_to_write() {
    let cases = [
        ("on_success_callback: hello", "names no module"),
        (
            "on_success_callback: {channel: x}",
            "without a `callback` key",
        ),
        (
            "on_success_callback: 3",
            "must be an import path or a mapping",
        ),
        ("on_success_callback_name: hello", "go together"),
        (
            "on_success_callback: a.b\n      on_success_callback_name: hello\n      on_success_callback_file: cb.py",
            "not both",
        ),
        (
            "on_success_callback_name: hello\n      on_success_callback_file: $CONFIG_ROOT_DIR/missing.py",
            "cannot read",
        ),
        ("on_success_callback: a.not-a-name", "is not a Python name"),
    ];
    for (written, expected) in cases {
        let f = load(&format!(
            "d:\n  tasks:\n    t:\n      operator: empty\n      {written}\n"
        ));
        let errs = errors(&f);
        assert!(
            errs.iter().any(|(_, _, m)| m.contains(expected)),
            "{written}: {errs:#?}"
        );
    }
}
