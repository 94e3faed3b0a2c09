//! The identity of a DAG version: a canonical serialized form and its SHA-256.
//!
//! A version is the parsed DAG plus every file it references (its YAML, Python
//! callables, scripts), each named by the SHA-256 of its content, so the identity
//! covers every byte of every file. The canonical form is JSON with object keys
//! sorted and no whitespace, written by this module itself so that it does not
//! depend on how a JSON library orders maps; the same content always gives the same
//! bytes, hence the same hash, and any change gives a new one. The state machine
//! compares hashes to decide whether a push makes a new version.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Dag;

/// What a DAG version holds: the DAG, and its files by key (the path relative to the
/// DAG file's folder), each named by the `sha256:` hash of its content.
///
/// Contents are kept apart, once per distinct content ([`FileContents`]): a YAML file
/// that defines many DAGs is stored once, not once per DAG, and the cluster stores
/// file contents by hash, shared between versions. The version's identity still
/// covers every byte of every file, through these hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionContent {
    pub dag: Dag,
    pub files: BTreeMap<String, String>,
}

/// File contents by their `sha256:` hash.
pub type FileContents = BTreeMap<String, String>;

impl VersionContent {
    /// The canonical serialized form.
    pub fn canonical_json(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        canonical_json(&value)
    }

    /// `sha256:<hex>` of the canonical form.
    pub fn content_hash(&self) -> String {
        content_hash(self.canonical_json().as_bytes())
    }
}

/// `sha256:<hex>` of some bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// JSON with object keys sorted (by their UTF-8 bytes) and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [2, {"d": 1, "c": 2}], "x": "é"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é","y":[2,{"c":2,"d":1}]},"b":1}"#
        );
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": "é", "y": [2, {"c": 2, "d": 1}]}, "b": 1}"#)
                .expect("json");
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn hash_format() {
        let h = content_hash(b"");
        assert_eq!(
            h,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
