//! dag-factory's `defaults.yml` (or `defaults.yaml`) files: settings every DAG
//! file below them inherits, read from the DAG file's folder up to the DAGs root.
//!
//! As in dag-factory, the closest file wins: `default_args` merge key by key,
//! `tags` add up, and every other key is taken whole from the closest file that
//! sets it. The DAG file's own `default:` block and the DAG itself then merge over
//! the result (dag-factory applies its DAG-level keys over the file's `default:`
//! block; Kairos lets the closer setting win everywhere, see docs/dag-format.md).
//! Each file read is captured into the DAG's version, so a version shows what
//! its DAG inherited.

use std::path::{Path, PathBuf};

use super::aliases;
use super::files::{FileRefs, relative_key};
use super::objects;
use super::sink::{Scope, Sink};
use crate::diag::{Diagnostic, Severity};
use crate::yaml::{self, Key, Node, Value};

/// The names dag-factory looks for in each folder, in order; the first found is used.
pub const NAMES: [&str; 2] = ["defaults.yml", "defaults.yaml"];

/// Whether a file name is a defaults file (not a DAG file).
pub fn is_defaults_file(name: &str) -> bool {
    NAMES.contains(&name)
}

/// What the defaults files above a DAG file give.
#[derive(Debug, Default)]
pub struct Inherited {
    /// The merged settings, a mapping; `None` when no defaults file exists.
    pub node: Option<Node>,
    /// The keys of the files read, to carry in each DAG's version.
    pub keys: Vec<String>,
    /// Whether a defaults file had an error (its DAGs cannot be loaded).
    pub broken: bool,
}

/// The folders from `here` up to `root`, closest first (only `here` when it is
/// not below `root`).
fn folders(root: &Path, here: &Path) -> Vec<PathBuf> {
    let mut out = vec![here.to_path_buf()];
    let Some(rest) = relative_key(root, &here.join("x")) else {
        return out;
    };
    // `rest` is `a/b/x`: one folder per part above the file.
    let depth = rest.split('/').count() - 1;
    let mut at = here.to_path_buf();
    for _ in 0..depth {
        at = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() && !at.ends_with("..") => p.to_path_buf(),
            Some(p) if p.as_os_str().is_empty() && at != Path::new(".") => PathBuf::from("."),
            _ => at.join(".."),
        };
        out.push(at.clone());
    }
    out
}

/// Reads and merges the defaults files above a DAG file; their problems go to
/// `sink` under each defaults file's own name.
pub fn inherit(root: &Path, here: &Path, refs: &mut FileRefs, sink: &mut Sink) -> Inherited {
    let mut found: Vec<Node> = Vec::new();
    let mut out = Inherited::default();
    for folder in folders(root, here) {
        for name in NAMES {
            let full = folder.join(name);
            match refs.capture_optional(&full) {
                Ok(None) => continue,
                Ok(Some((key, text))) => {
                    match parse(&key, &text) {
                        Ok(node) => found.push(node),
                        Err(problems) => {
                            out.broken = true;
                            sink.diagnostics.extend(problems);
                        }
                    }
                    out.keys.push(key);
                }
                Err(message) => {
                    out.broken = true;
                    sink.diagnostics.push(Diagnostic::file_level(
                        Severity::Error,
                        &full.display().to_string(),
                        message,
                    ));
                }
            }
            break;
        }
    }
    // Farthest first, so that closer files override.
    let mut merged: Option<Node> = None;
    for node in found.into_iter().rev() {
        merged = Some(match merged {
            None => node,
            Some(base) => layer(&node, &base),
        });
    }
    out.node = merged;
    out
}

/// One defaults file, checked: a mapping, with Airflow's old names canonical.
fn parse(key: &str, text: &str) -> Result<Node, Vec<Diagnostic>> {
    let mut sink = Sink::new(key);
    let top = Scope::default();
    let mut doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            sink.error(&top, e.pos, format!("invalid YAML: {}", e.message), None);
            return Err(sink.diagnostics);
        }
    };
    if let Err((pos, message)) = objects::normalize(&mut doc) {
        sink.error(&top, pos, message, None);
        return Err(sink.diagnostics);
    }
    if doc.is_null() {
        return Ok(Node {
            pos: doc.pos,
            value: Value::Map(Vec::new()),
        });
    }
    if doc.as_map().is_none() {
        sink.error(
            &top,
            doc.pos,
            format!(
                "a defaults file holds DAG settings (`default_args:`, `schedule:`, ...) as a mapping; this one is {}",
                doc.value.kind()
            ),
            None,
        );
        return Err(sink.diagnostics);
    }
    let mark = sink.mark();
    aliases::canonicalize_dag(&mut doc, &mut sink, &top);
    if sink.errors_since(mark) {
        return Err(sink.diagnostics);
    }
    Ok(doc)
}

/// `closer` over `farther`: `default_args` key by key, `tags` added up, the rest whole.
fn layer(closer: &Node, farther: &Node) -> Node {
    let (Value::Map(own), Value::Map(base)) = (&closer.value, &farther.value) else {
        return closer.clone();
    };
    let mut entries: Vec<(Key, Node)> = base
        .iter()
        .filter(|(k, _)| !own.iter().any(|(o, _)| o.name == k.name))
        .cloned()
        .collect();
    for (k, v) in own {
        let below = base.iter().find(|(b, _)| b.name == k.name).map(|(_, b)| b);
        let value = match (k.name.as_str(), below) {
            ("default_args", Some(b)) => super::merge::merge_shallow(v, b),
            ("tags", Some(b)) => union(v, b),
            _ => v.clone(),
        };
        entries.push((k.clone(), value));
    }
    Node {
        pos: closer.pos,
        value: Value::Map(entries),
    }
}

/// Two tag lists as one, each tag once, sorted (dag-factory's order).
fn union(own: &Node, base: &Node) -> Node {
    let (Value::Seq(a), Value::Seq(b)) = (&own.value, &base.value) else {
        return own.clone();
    };
    let mut tags: Vec<Node> = Vec::new();
    for t in b.iter().chain(a) {
        if !tags.iter().any(|x| x.value == t.value) {
            tags.push(t.clone());
        }
    }
    tags.sort_by(|x, y| x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")));
    Node {
        pos: own.pos,
        value: Value::Seq(tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn disk(files: &[(&str, &str)]) -> BTreeMap<PathBuf, Vec<u8>> {
        files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn the_closest_file_wins_and_default_args_merge_key_by_key() {
        let d = disk(&[
            (
                "/r/defaults.yml",
                "default_args: {owner: root, retries: 1}\nschedule: '@daily'\ntags: [b, a]\n",
            ),
            (
                "/r/team/defaults.yaml",
                "default_args: {owner: team}\ntags: [c, a]\n",
            ),
        ]);
        let mut refs = FileRefs::below(Path::new("/r"), Path::new("/r/team/sub"), &d);
        let mut sink = Sink::new("x.yml");
        let got = inherit(
            Path::new("/r"),
            Path::new("/r/team/sub"),
            &mut refs,
            &mut sink,
        );
        assert!(!got.broken, "{:?}", sink.diagnostics);
        assert_eq!(got.keys, vec!["team/defaults.yaml", "defaults.yml"]);
        let node = got.node.expect("merged");
        let args = node.get("default_args").expect("args");
        assert_eq!(args.get("owner").and_then(Node::as_str), Some("team"));
        assert_eq!(args.get("retries").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(node.get("schedule").and_then(Node::as_str), Some("@daily"));
        let tags: Vec<&str> = match &node.get("tags").expect("tags").value {
            Value::Seq(s) => s.iter().filter_map(Node::as_str).collect(),
            _ => panic!("tags"),
        };
        assert_eq!(tags, vec!["a", "b", "c"]);
    }

    #[test]
    fn yml_is_preferred_over_yaml_and_nothing_above_the_root_is_read() {
        let d = disk(&[
            ("/defaults.yml", "schedule: '@hourly'\n"),
            ("/r/defaults.yml", "schedule: '@daily'\n"),
            ("/r/defaults.yaml", "schedule: '@weekly'\n"),
        ]);
        let mut refs = FileRefs::below(Path::new("/r"), Path::new("/r"), &d);
        let mut sink = Sink::new("x.yml");
        let got = inherit(Path::new("/r"), Path::new("/r"), &mut refs, &mut sink);
        assert_eq!(got.keys, vec!["defaults.yml"]);
        let node = got.node.expect("merged");
        assert_eq!(node.get("schedule").and_then(Node::as_str), Some("@daily"));
    }

    #[test]
    fn a_broken_defaults_file_is_reported_under_its_own_name() {
        let d = disk(&[("/r/defaults.yml", "- just\n- a list\n")]);
        let mut refs = FileRefs::below(Path::new("/r"), Path::new("/r"), &d);
        let mut sink = Sink::new("x.yml");
        let got = inherit(Path::new("/r"), Path::new("/r"), &mut refs, &mut sink);
        assert!(got.broken);
        assert_eq!(sink.diagnostics.len(), 1);
        assert_eq!(sink.diagnostics[0].file, "defaults.yml");
        assert!(sink.diagnostics[0].message.contains("mapping"));
    }
}
