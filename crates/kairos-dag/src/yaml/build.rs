//! Builds a [`Node`] tree from `saphyr-parser` events.
//!
//! Handles what PyYAML users rely on: anchors and aliases (with a budget on alias
//! expansion, so a "billion laughs" file is an error and not an out-of-memory),
//! merge keys (`<<: *defaults`), and core-schema tags. A file must hold a single
//! document, as dag-factory reads exactly one.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};

use super::scalar::{resolve_plain, resolve_tagged};
use super::tree::{Key, Node, Pos, Value};

use crate::limits::{MAX_YAML_ALIAS_BYTES, MAX_YAML_ALIAS_NODES};

/// What one node weighs, beyond its text, in the alias byte budget.
const NODE_OVERHEAD: usize = 32;

/// Deepest nesting accepted; far beyond any DAG file, low enough to keep recursion safe.
const MAX_DEPTH: usize = 256;

/// A syntax error: where it is and what the parser said.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

fn pos_of(mark: &Marker) -> Pos {
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        col: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    /// Nodes and bytes aliases may still expand to.
    alias_nodes: usize,
    alias_bytes: usize,
    document: Option<Node>,
    documents_seen: usize,
}

/// Parses one YAML document into a positioned tree. An empty file is `Null`.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: MAX_YAML_ALIAS_NODES,
        alias_bytes: MAX_YAML_ALIAS_BYTES,
        document: None,
        documents_seen: 0,
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| ParseError {
            pos: pos_of(e.marker()),
            message: e.info().to_string(),
        })?;
        builder.on_event(event, pos_of(&span.start))?;
    }
    Ok(builder.document.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        value: Value::Null,
    }))
}

impl Builder {
    fn on_event(&mut self, event: Event<'_>, pos: Pos) -> Result<(), ParseError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.documents_seen += 1;
                if self.documents_seen > 1 {
                    return Err(ParseError {
                        pos,
                        message: "a DAG file holds one YAML document; found a second one (`---`). \
                                  Split it into two files or remove the separator"
                            .into(),
                    });
                }
                Ok(())
            }
            Event::SequenceStart(anchor, _tag) => {
                self.check_depth(pos)?;
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                Ok(())
            }
            Event::MappingStart(anchor, _tag) => {
                self.check_depth(pos)?;
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => self.complete(
                    Node {
                        pos,
                        value: Value::Seq(items),
                    },
                    anchor,
                ),
                _ => Err(internal(pos, "sequence end without a sequence")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    pending_key,
                }) => {
                    if let Some(key) = pending_key {
                        return Err(ParseError {
                            pos: key.pos,
                            message: format!("key `{}` has no value", key.name),
                        });
                    }
                    let entries = apply_merge_keys(entries)?;
                    self.complete(
                        Node {
                            pos,
                            value: Value::Map(entries),
                        },
                        anchor,
                    )
                }
                _ => Err(internal(pos, "mapping end without a mapping")),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar_value(&text, style, tag.as_deref(), pos)?;
                if self.expects_key() {
                    return self.set_key(Key {
                        name: text.into_owned(),
                        pos,
                    });
                }
                self.complete(Node { pos, value }, anchor)
            }
            Event::Alias(id) => {
                // Weighed before it is copied: the copy is the expansion.
                let anchored = self.anchors.get(&id).ok_or_else(|| ParseError {
                    pos,
                    message: "alias refers to an anchor that is not defined before it".into(),
                })?;
                let (nodes, bytes) = weigh(anchored);
                if nodes > self.alias_nodes || bytes > self.alias_bytes {
                    return Err(ParseError {
                        pos,
                        message: format!(
                            "aliases expand to more than {MAX_YAML_ALIAS_NODES} nodes or \
                             {MAX_YAML_ALIAS_BYTES} bytes in this file (this alias adds {nodes} \
                             nodes, {bytes} bytes); this looks like an alias bomb, not a DAG \
                             file. Write the value once, or use fewer aliases of large values"
                        ),
                    });
                }
                self.alias_nodes -= nodes;
                self.alias_bytes -= bytes;
                let node = anchored.clone();
                if self.expects_key() {
                    return match node.value {
                        Value::Str(s) => self.set_key(Key { name: s, pos }),
                        _ => Err(ParseError {
                            pos,
                            message: "a mapping key must be a plain string".into(),
                        }),
                    };
                }
                // An alias node reports the alias's position, not the anchor's.
                self.complete(Node { pos, ..node }, 0)
            }
        }
    }

    fn check_depth(&self, pos: Pos) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(ParseError {
                pos,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    /// True when the innermost open collection is a mapping waiting for a key.
    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn set_key(&mut self, key: Key) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            Some(Frame::Map { pending_key, .. }) => {
                *pending_key = Some(key);
                Ok(())
            }
            _ => Err(internal(key.pos, "key outside a mapping")),
        }
    }

    /// Places a finished node into its parent (or makes it the document).
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.document = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                Some(key) => {
                    entries.push((key, node));
                    Ok(())
                }
                None => Err(ParseError {
                    pos: node.pos,
                    message: format!(
                        "a mapping key must be a plain string, found {}",
                        node.value.kind()
                    ),
                }),
            },
        }
    }
}

fn internal(pos: Pos, what: &str) -> ParseError {
    ParseError {
        pos,
        message: format!("malformed YAML ({what})"),
    }
}

fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Value, ParseError> {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        return resolve_tagged(&tag.suffix, text).ok_or_else(|| ParseError {
            pos,
            message: format!("`{text}` is not a valid !!{}", tag.suffix),
        });
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::Str(text.to_string()),
    })
}

/// Expands YAML merge keys (`<<: *anchor` or `<<: [*a, *b]`): keys written in the
/// mapping win over merged ones, and among merged mappings the first one listed wins.
fn apply_merge_keys(entries: Vec<(Key, Node)>) -> Result<Vec<(Key, Node)>, ParseError> {
    if !entries.iter().any(|(k, _)| k.name == "<<") {
        return Ok(entries);
    }
    let mut explicit = Vec::with_capacity(entries.len());
    let mut sources: Vec<Node> = Vec::new();
    for (key, value) in entries {
        if key.name != "<<" {
            explicit.push((key, value));
            continue;
        }
        match value.value {
            Value::Map(_) => sources.push(value),
            Value::Seq(items) => {
                for item in items {
                    if !matches!(item.value, Value::Map(_)) {
                        return Err(ParseError {
                            pos: item.pos,
                            message: "a merge key (`<<`) list may only hold mappings".into(),
                        });
                    }
                    sources.push(item);
                }
            }
            other => {
                return Err(ParseError {
                    pos: key.pos,
                    message: format!(
                        "a merge key (`<<`) takes a mapping or a list of mappings, found {}",
                        other.kind()
                    ),
                });
            }
        }
    }
    let mut merged: Vec<(Key, Node)> = Vec::new();
    for source in sources {
        if let Value::Map(source_entries) = source.value {
            for (k, v) in source_entries {
                let shadowed = explicit.iter().any(|(e, _)| e.name == k.name)
                    || merged.iter().any(|(m, _)| m.name == k.name);
                if !shadowed {
                    merged.push((k, v));
                }
            }
        }
    }
    merged.extend(explicit);
    Ok(merged)
}

/// What a node weighs when copied: its nodes, and its bytes (scalars' and keys'
/// text plus [`NODE_OVERHEAD`] per node). Numbers and booleans count as overhead.
fn weigh(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Str(s) => (1, NODE_OVERHEAD.saturating_add(s.len())),
        Value::Seq(items) => items.iter().fold((1, NODE_OVERHEAD), |(n, b), item| {
            let (n2, b2) = weigh(item);
            (n.saturating_add(n2), b.saturating_add(b2))
        }),
        Value::Map(entries) => entries.iter().fold((1, NODE_OVERHEAD), |(n, b), (k, v)| {
            let (n2, b2) = weigh(v);
            (
                n.saturating_add(n2).saturating_add(1),
                b.saturating_add(b2)
                    .saturating_add(k.name.len())
                    .saturating_add(NODE_OVERHEAD),
            )
        }),
        _ => (1, NODE_OVERHEAD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        match parse(text) {
            Ok(n) => n,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    #[test]
    fn positions_of_keys_and_values() {
        let doc = p("a:\n  b: 1\n  c: [x, y]\n");
        let a = doc.get("a").expect("a");
        let entries = a.as_map().expect("map");
        assert_eq!(entries[0].0.name, "b");
        assert_eq!(entries[0].0.pos, Pos { line: 2, col: 3 });
        assert_eq!(entries[0].1.pos, Pos { line: 2, col: 6 });
        assert_eq!(
            entries[1].1.as_seq().expect("seq")[1].pos,
            Pos { line: 3, col: 10 }
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = p("base: &b\n  retries: 1\n  owner: x\nd:\n  <<: *b\n  owner: y\n");
        let d = doc.get("d").expect("d");
        assert_eq!(d.get("retries").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(
            d.get("owner").map(|n| &n.value),
            Some(&Value::Str("y".into()))
        );
        assert_eq!(d.as_map().map(|m| m.len()), Some(2));
    }

    #[test]
    fn merge_list_first_wins() {
        let doc = p("a: &a {k: 1}\nb: &b {k: 2, j: 3}\nc:\n  <<: [*a, *b]\n");
        let c = doc.get("c").expect("c");
        assert_eq!(c.get("k").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(c.get("j").map(|n| &n.value), Some(&Value::Int(3)));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let doc = p("a: 'yes'\nb: \"1\"\nc: yes\nd: !!str 5\n");
        assert_eq!(
            doc.get("a").map(|n| &n.value),
            Some(&Value::Str("yes".into()))
        );
        assert_eq!(
            doc.get("b").map(|n| &n.value),
            Some(&Value::Str("1".into()))
        );
        assert_eq!(doc.get("c").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(
            doc.get("d").map(|n| &n.value),
            Some(&Value::Str("5".into()))
        );
    }

    #[test]
    fn duplicate_keys_are_kept_for_the_loader_to_report() {
        let doc = p("a: 1\na: 2\n");
        assert_eq!(doc.as_map().map(|m| m.len()), Some(2));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("must fail");
        assert!(err.pos.line >= 1, "{err}");
        let err = parse("a: 1\n---\nb: 2\n").expect_err("two documents");
        assert!(err.message.contains("one YAML document"), "{err}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let err = parse(&text).expect_err("bomb");
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn aliases_of_one_large_scalar_are_counted_in_bytes_and_refused_where_they_cross() {
        // 40 aliases of a 500 KiB scalar: 40 nodes (far within the node budget),
        // 20 MB once expanded; a 1 MiB file of them would be ~75 GB.
        let mut text = format!("big: &a '{}'\nlist:\n", "x".repeat(500 * 1024));
        for _ in 0..40 {
            text.push_str("  - *a\n");
        }
        let err = parse(&text).expect_err("an alias bomb of bytes");
        assert!(err.message.contains("bytes"), "{err}");
        // The first alias past the budget: 16 MiB / (500 KiB + 32) = 32 fit.
        assert_eq!((err.pos.line, err.pos.col), (2 + 33, 5), "{err}");
        // A few aliases of it are fine.
        let few = format!("big: &a '{}'\nlist: [*a, *a, *a]\n", "x".repeat(500 * 1024));
        assert!(parse(&few).is_ok());
    }

    #[test]
    fn empty_document_is_null() {
        assert!(p("").is_null());
        assert!(p("# only a comment\n").is_null());
    }
}
