//! Which names look like secrets (Airflow's sensitive keywords), and the values
//! under such names in a JSON value: a DAG's `env`, `op_kwargs`, `params` or a
//! run's `conf` may hold a password in plain text under a key that says so.

use serde_json::Value as Json;

pub use kairos_dag::secret_names::{SENSITIVE_KEYWORDS, is_sensitive_key};

/// The scalar leaves of `value` as text, each with whether a sensitive name is
/// on its path. `all`: every leaf (a Variable's value); otherwise only those
/// under a sensitive name (a rendered field). Booleans and nulls are never
/// secrets worth masking (`true` would vanish from every log line).
pub fn leaves(value: &Json, all: bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    walk(value, false, all, &mut out);
    out
}

fn walk(value: &Json, named: bool, all: bool, out: &mut Vec<(String, bool)>) {
    match value {
        Json::Object(map) => {
            for (key, value) in map {
                walk(value, named || is_sensitive_key(key), all, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                walk(item, named, all, out);
            }
        }
        Json::String(text) if named || all => out.push((text.clone(), named)),
        Json::Number(n) if named || all => out.push((n.to_string(), named)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_values_under_sensitive_names_count_unless_all_do() {
        let value = json!({
            "region": "eu-west-1",
            "db": {"password": "hunter22", "port": 5432},
            "api_key": ["k1-abcdef", 12345],
            "tokens": {"nested": {"deep": "s3cr3t-deep"}},
            "flag_secret": true,
        });
        let mut named = leaves(&value, false);
        named.sort();
        assert_eq!(
            named,
            vec![
                ("12345".to_string(), true),
                ("hunter22".to_string(), true),
                ("k1-abcdef".to_string(), true),
                ("s3cr3t-deep".to_string(), true),
            ]
        );
        let all = leaves(&value, true);
        assert!(all.contains(&("eu-west-1".to_string(), false)), "{all:?}");
        assert!(all.contains(&("5432".to_string(), false)), "{all:?}");
        assert!(all.contains(&("hunter22".to_string(), true)), "{all:?}");
    }
}
