//! dag-factory's object syntax, for the parts that are plain data.
//!
//! dag-factory turns `{__join__: [a, b]}` into the string `ab` and
//! `{__type__: builtins.list, items: [...]}` into a list, anywhere in the file,
//! before anything else reads it. Kairos does the same. Other `__type__` objects
//! (timedelta, datetime, timetables) are read by the fields that accept them.

use crate::yaml::{Node, Value};

/// Rewrites `__join__` and `builtins.list` objects in place, recursively.
pub fn normalize(node: &mut Node) -> Result<(), (crate::yaml::Pos, String)> {
    match &mut node.value {
        Value::Seq(items) => {
            for item in items.iter_mut() {
                normalize(item)?;
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries.iter_mut() {
                normalize(v)?;
            }
            if let Some(replacement) = object_value(entries, node.pos)? {
                node.value = replacement;
            }
        }
        _ => {}
    }
    Ok(())
}

fn object_value(
    entries: &[(crate::yaml::Key, Node)],
    pos: crate::yaml::Pos,
) -> Result<Option<Value>, (crate::yaml::Pos, String)> {
    let get = |k: &str| {
        entries
            .iter()
            .find(|(key, _)| key.name == k)
            .map(|(_, v)| v)
    };
    if let Some(parts) = get("__join__") {
        if entries.len() != 1 {
            return Err((pos, "a `__join__` mapping must hold only `__join__`".into()));
        }
        let items = parts
            .as_seq()
            .ok_or((parts.pos, "`__join__` takes a list of values".to_string()))?;
        let mut joined = String::new();
        for item in items {
            joined.push_str(&python_str(item).ok_or((
                item.pos,
                "`__join__` can join text, numbers and booleans".to_string(),
            ))?);
        }
        return Ok(Some(Value::Str(joined)));
    }
    if get("__type__").and_then(Node::as_str) == Some("builtins.list") {
        let items = get("items").and_then(Node::as_seq).ok_or((
            pos,
            "a `builtins.list` object needs `items: [...]`".to_string(),
        ))?;
        return Ok(Some(Value::Seq(items.to_vec())));
    }
    Ok(None)
}

/// Python's `str()` of a scalar, as `__join__` uses it.
fn python_str(node: &Node) -> Option<String> {
    Some(match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.is_finite() {
                format!("{f:.1}")
            } else {
                f.to_string()
            }
        }
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn join_and_list() {
        let mut doc = parse(
            "a: {__join__: ['echo ', 1, ' ', true]}\nb: {__type__: builtins.list, items: [1, 2]}\n",
        )
        .expect("yaml");
        normalize(&mut doc).expect("normalizes");
        assert_eq!(doc.get("a").and_then(Node::as_str), Some("echo 1 True"));
        assert_eq!(
            doc.get("b").and_then(Node::as_seq).map(<[Node]>::len),
            Some(2)
        );
    }

    #[test]
    fn bad_objects_are_errors() {
        let mut doc = parse("a: {__join__: [[1]]}\n").expect("yaml");
        assert!(normalize(&mut doc).is_err());
        let mut doc = parse("a: {__type__: builtins.list}\n").expect("yaml");
        assert!(normalize(&mut doc).is_err());
    }
}
