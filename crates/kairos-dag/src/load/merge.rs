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
        _ => dag.clone(),
    }
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
