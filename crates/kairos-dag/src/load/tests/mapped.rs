//! Mapped tasks: `partial` and `expand`, the dependency an `upstream.output` implies,
//! and what defaults and scripts do to expanded arguments.

use std::collections::BTreeMap;

use serde_json::json;

use super::support::{load, load_with, one_error, only_dag};
use crate::model::{MapSource, TaskOperator};
use crate::operator::{BashCommand, Operator};

#[test]
fn mapped_tasks_and_their_implied_dependency() {
    let f = load_with(
        "m:\n  tasks:\n    - task_id: request\n      operator: python\n      python_callable_name: make_list\n      python_callable_file: cb.py\n    - task_id: process\n      operator: python\n      python_callable_name: consume\n      python_callable_file: cb.py\n      partial:\n        op_kwargs: {fixed: test}\n      expand:\n        op_args: request.output\n    - task_id: echo\n      operator: bash\n      expand:\n        bash_command: ['echo 1', 'echo 2']\n",
        &[(
            "cb.py",
            "def make_list(): return [[1], [2]]\ndef consume(x, fixed): print(x, fixed)\n",
        )],
    );
    let d = &only_dag(&f).dag;
    let process = d.task("process").expect("process");
    assert_eq!(
        process.upstream,
        vec!["request"],
        "expand on request.output implies the dependency"
    );
    let TaskOperator::Mapped(m) = &process.operator else {
        panic!("mapped")
    };
    assert_eq!(
        m.expand,
        vec![(
            "op_args".to_string(),
            MapSource::Xcom {
                task_id: "request".into()
            }
        )]
    );
    assert_eq!(m.partial.get("op_kwargs"), Some(&json!({"fixed": "test"})));
    let TaskOperator::Mapped(e) = &d.task("echo").expect("echo").operator else {
        panic!("mapped")
    };
    let MapSource::Literal { values } = &e.expand[0].1 else {
        panic!("literal")
    };
    assert_eq!(values.len(), 2);
    let files: BTreeMap<String, String> = BTreeMap::new();
    let one = e.instantiate(
        &[("bash_command".to_string(), json!("echo 2"))]
            .into_iter()
            .collect(),
        &files,
    );
    assert!(matches!(one, Ok(Operator::Bash(_))));
}

#[test]
fn mapped_sources_use_the_real_task_id() {
    // Found in review: `request` inside group `g` has the id `g.request`.
    let f = load(
        "d:\n  task_groups: {g: {}}\n  tasks:\n    request: {operator: bash, bash_command: echo, task_group_name: g}\n    process:\n      operator: bash\n      expand: {bash_command: request.output}\n",
    );
    let d = &only_dag(&f).dag;
    let process = d.task("process").expect("process");
    assert_eq!(process.upstream, vec!["g.request"]);
    let TaskOperator::Mapped(m) = &process.operator else {
        panic!("mapped")
    };
    assert_eq!(
        m.expand[0].1,
        MapSource::Xcom {
            task_id: "g.request".into()
        }
    );
    // A group has no output.
    let f = load(
        "d:\n  task_groups: {g: {}}\n  tasks:\n    a: {operator: empty, task_group_name: g}\n    process:\n      operator: bash\n      expand: {bash_command: g.output}\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("`g` is a task group"), "{msg}");
}

#[test]
fn expanded_arguments_and_defaults_and_scripts() {
    // Found in review: a default for an expanded argument made it "both expanded and fixed",
    // and scripts named in an expand list were not shipped.
    let f = load_with(
        "d:\n  default_args: {bash_command: echo default}\n  tasks:\n    t:\n      operator: bash\n      expand:\n        bash_command: [scripts/a.sh, echo inline]\n",
        &[("scripts/a.sh", "echo {{ ds }}\n")],
    );
    let v = only_dag(&f);
    assert!(
        v.files.contains_key("scripts/a.sh"),
        "the script ships with the version"
    );
    let TaskOperator::Mapped(m) = &v.dag.task("t").expect("t").operator else {
        panic!("mapped")
    };
    assert!(!m.partial.contains_key("bash_command"));
    let one = m.instantiate(
        &[("bash_command".to_string(), json!("scripts/a.sh"))]
            .into_iter()
            .collect(),
        &v.files,
    );
    assert!(
        matches!(one, Ok(Operator::Bash(b)) if b.command == BashCommand::Script { file: "scripts/a.sh".into() })
    );
}
