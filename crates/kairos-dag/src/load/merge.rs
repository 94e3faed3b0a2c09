//! dag-factory's `default:` block: merged under every DAG of the file.
//!
//! The merge is dag-factory's `merge_configs`: recursive for mappings (so
//! `default_args`, `params` and mapping-form `tasks` merge key by key), while a
//! list or a scalar in the DAG replaces the default's. The DAG's own keys win.
//! Merged nodes keep their positions, so an error in a default still points at the
//! line of the `default:` block that holds it.

use crate::yaml::{Node, Value};

/// `dag` merged over `default`.
pub fn merge_over(dag: &Node, default: &Node) -> Node {
    match (&dag.value, &default.value) {
        (Value::Map(own), Value::Map(base)) => {
            let mut entries = Vec::with_capacity(own.len() + base.len());
            for (k, v) in base {
                if !own.iter().any(|(o, _)| o.name == k.name) {
                    entries.push((k.clone(), v.clone()));
                }
            }
            for (k, v) in own {
                let merged = match base.iter().find(|(b, _)| b.name == k.name) {
                    Some((_, base_v)) => merge_over(v, base_v),
                    None => v.clone(),
                };
                entries.push((k.clone(), merged));
            }
            Node {
                pos: dag.pos,
                value: Value::Map(entries),
            }
        }
        (Value::Seq(own), Value::Seq(base)) => match merge_by_id(own, base) {
            Some(items) => Node {
                pos: dag.pos,
                value: Value::Seq(items),
            },
            None => dag.clone(),
        },
        _ => dag.clone(),
    }
}

/// The id of a list-form task (`task_id`) or task group (`group_name`).
fn list_id(node: &Node) -> Option<&str> {
    node.get("task_id")
        .or_else(|| node.get("group_name"))
        .and_then(Node::as_str)
}

/// List-form `tasks` (or `task_groups`) on both sides, merged by id: the
/// `default:` block's items first, each merged under the DAG's item of the same
/// id, then the DAG's own new items. This is what dag-factory documents for
/// "templated" DAGs (a `default:` block with tasks that DAGs override); `None`
/// when either list is not such a list (then the DAG's list replaces the other).
fn merge_by_id(own: &[Node], base: &[Node]) -> Option<Vec<Node>> {
    if own.is_empty() || base.is_empty() {
        return None;
    }
    if !own.iter().chain(base).all(|n| list_id(n).is_some()) {
        return None;
    }
    let mut items: Vec<Node> = base
        .iter()
        .map(|b| match own.iter().find(|o| list_id(o) == list_id(b)) {
            Some(o) => merge_over(o, b),
            None => b.clone(),
        })
        .collect();
    items.extend(
        own.iter()
            .filter(|o| !base.iter().any(|b| list_id(b) == list_id(o)))
            .cloned(),
    );
    Some(items)
}

/// `own` over `base` key by key, each value replaced whole: Python's `dict.update`,
/// which is how Airflow layers a task group's `default_args` over its parent's.
pub fn merge_shallow(own: &Node, base: &Node) -> Node {
    match (&own.value, &base.value) {
        (Value::Map(o), Value::Map(b)) => {
            let mut entries: Vec<_> = b
                .iter()
                .filter(|(k, _)| !o.iter().any(|(ok, _)| ok.name == k.name))
                .cloned()
                .collect();
            entries.extend(o.iter().cloned());
            Node {
                pos: own.pos,
                value: Value::Map(entries),
            }
        }
        _ => own.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn list_form_tasks_merge_by_task_id() {
        let doc = parse(
            "default:\n  tasks:\n    - {task_id: a, operator: bash, bash_command: echo a}\n\
             \x20   - {task_id: b, operator: bash, dependencies: [a]}\n\
             d:\n  tasks:\n    - {task_id: b, bash_command: echo b}\n    - {task_id: c, operator: bash, bash_command: echo c}\n",
        )
        .expect("yaml");
        let merged = merge_over(
            doc.get("d").expect("d"),
            doc.get("default").expect("default"),
        );
        let Value::Seq(tasks) = &merged.get("tasks").expect("tasks").value else {
            panic!("tasks is a list");
        };
        let ids: Vec<&str> = tasks.iter().filter_map(list_id).collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
        assert_eq!(
            tasks[1].get("operator").and_then(Node::as_str),
            Some("bash")
        );
        assert_eq!(
            tasks[1].get("bash_command").and_then(Node::as_str),
            Some("echo b")
        );
        assert!(tasks[1].get("dependencies").is_some());
    }

    #[test]
    fn dag_keys_win_and_mappings_merge_recursively() {
        let doc = parse(
            "default:\n  catchup: false\n  default_args: {owner: a, retries: 1}\n  tags: [x]\n\
             d:\n  catchup: true\n  default_args: {retries: 3}\n  tags: [y]\n",
        )
        .expect("yaml");
        let merged = merge_over(
            doc.get("d").expect("d"),
            doc.get("default").expect("default"),
        );
        assert_eq!(
            merged.get("catchup").map(|n| &n.value),
            Some(&Value::Bool(true))
        );
        let args = merged.get("default_args").expect("args");
        assert_eq!(args.get("owner").and_then(Node::as_str), Some("a"));
        assert_eq!(args.get("retries").map(|n| &n.value), Some(&Value::Int(3)));
        // Lists are replaced, not concatenated.
        assert_eq!(
            merged.get("tags").and_then(Node::as_seq).map(<[Node]>::len),
            Some(1)
        );
        // Positions come from where each value was written.
        assert_eq!(args.get("owner").map(|n| n.pos.line), Some(3));
    }

    #[test]
    fn shallow_merge_replaces_values_whole() {
        let doc = parse("base: {env: {A: '1'}, retries: 1}\nown: {env: {B: '2'}}\n").expect("yaml");
        let merged = merge_shallow(doc.get("own").expect("own"), doc.get("base").expect("base"));
        let env = merged.get("env").expect("env");
        assert!(
            env.get("B").is_some() && env.get("A").is_none(),
            "dict.update semantics"
        );
        assert_eq!(
            merged.get("retries").map(|n| &n.value),
            Some(&Value::Int(1))
        );
    }
}
