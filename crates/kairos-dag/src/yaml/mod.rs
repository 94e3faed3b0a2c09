//! A YAML tree that remembers where every node came from.
//!
//! DAG files are checked long after parsing (an unknown dependency id, a cycle,
//! a bad cron string), and every one of those errors must point at a line and
//! column. Serde-based YAML loaders forget positions once the value is built, so
//! Kairos builds its own small tree from the events of `saphyr-parser` (a
//! maintained YAML parser) and keeps a [`Pos`] on every node and every mapping key.
//!
//! Scalars are resolved the way PyYAML resolves them (YAML 1.1), because that is
//! what dag-factory, and therefore every existing DAG file, was written against:
//! `yes`/`on` are booleans, `~` is null, `0o17` and `0x1f` are integers. Dates and
//! datetimes stay strings; the fields that want dates parse them.

mod build;
mod scalar;
mod tree;

pub use build::{ParseError, parse};
pub use tree::{Key, Node, Pos, Value};
