//! Reading typed values out of the positioned YAML tree, reporting every problem
//! at the node it is about.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use serde_json::Value as Json;

use super::sink::{Scope, Sink};
use crate::date::DateSpec;
use crate::duration::Duration;
use crate::operator::duration_from_json;
use crate::suggest::did_you_mean;
use crate::yaml::{Key, Node, Pos, Value};

/// Reads a mapping key by key. Every key asked for is "known"; what nobody asked
/// for is reported by [`MapReader::finish`] as unknown, with a suggestion.
pub struct MapReader<'n> {
    pub pos: Pos,
    entries: &'n [(Key, Node)],
    taken: Vec<bool>,
    known: Vec<&'static str>,
}

impl<'n> MapReader<'n> {
    /// `what` describes the mapping for the error when the node is not one
    /// ("the DAG `etl`", "task `load`"). Duplicate keys are reported here.
    pub fn new(
        node: &'n Node,
        what: &str,
        sink: &mut Sink,
        scope: &Scope,
    ) -> Option<MapReader<'n>> {
        let Some(entries) = node.as_map() else {
            sink.error(
                scope,
                node.pos,
                format!(
                    "{what} must be a mapping of keys to values, found {}",
                    node.value.kind()
                ),
                None,
            );
            return None;
        };
        let mut first_seen: std::collections::HashMap<&str, Pos> = std::collections::HashMap::new();
        for (k, _) in entries {
            if let Some(first) = first_seen.get(k.name.as_str()) {
                sink.error(
                    scope,
                    k.pos,
                    format!(
                        "`{}` appears twice in {what} (first at line {}); the second would silently win",
                        k.name, first.line
                    ),
                    Some("remove one of them".into()),
                );
            } else {
                first_seen.insert(k.name.as_str(), k.pos);
            }
        }
        Some(MapReader {
            pos: node.pos,
            entries,
            taken: vec![false; entries.len()],
            known: Vec::new(),
        })
    }

    /// The value of `key` (the last one, if written twice), marking it known and used.
    pub fn take(&mut self, key: &'static str) -> Option<&'n Node> {
        self.take_with_key(key).map(|(_, v)| v)
    }

    /// Like [`take`](Self::take) but with the key's own position.
    pub fn take_with_key(&mut self, key: &'static str) -> Option<(&'n Key, &'n Node)> {
        self.known.push(key);
        let mut found = None;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if k.name == key {
                self.taken[i] = true;
                found = Some((k, v));
            }
        }
        found
    }

    /// The entries nobody has taken yet, in file order.
    pub fn remaining(&self) -> Vec<&'n (Key, Node)> {
        self.entries
            .iter()
            .zip(&self.taken)
            .filter(|(_, t)| !**t)
            .map(|(e, _)| e)
            .collect()
    }

    /// Marks every remaining entry as used (the caller handles them).
    pub fn take_remaining(&mut self) -> Vec<&'n (Key, Node)> {
        let rest = self.remaining();
        self.taken.iter_mut().for_each(|t| *t = true);
        rest
    }

    /// Takes every key of `table` that is present and warns that it has no effect,
    /// with the reason the table gives.
    pub fn warn_ignored(
        &mut self,
        table: &[(&'static str, &'static str)],
        sink: &mut Sink,
        scope: &Scope,
    ) {
        for (key, why) in table {
            if let Some((k, _)) = self.take_with_key(key) {
                sink.warn(
                    scope,
                    k.pos,
                    format!("`{}` has no effect in Kairos: {why}", k.name),
                    None,
                );
            }
        }
    }

    /// Reports every key nobody took as unknown.
    pub fn finish(self, what: &str, sink: &mut Sink, scope: &Scope, also_known: &[&str]) {
        for (k, _) in self.remaining() {
            let candidates = self.known.iter().copied().chain(also_known.iter().copied());
            sink.error(
                scope,
                k.pos,
                format!("unknown key `{}` in {what}", k.name),
                did_you_mean(&k.name, candidates),
            );
        }
    }
}

pub fn expect_str<'n>(
    node: &'n Node,
    key: &str,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<&'n str> {
    match &node.value {
        Value::Str(s) => Some(s),
        other => not_text(node, other, key, sink, scope),
    }
}

/// Reports a value that should have been text.
fn not_text<T>(node: &Node, other: &Value, key: &str, sink: &mut Sink, scope: &Scope) -> Option<T> {
    sink.error(
        scope,
        node.pos,
        format!("`{key}` must be text, found {}", other.kind()),
        None,
    );
    None
}

/// Text where numbers and booleans are fine too (`queue: 1`, `owner: 2024`).
pub fn read_text(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null => None,
        other => not_text(node, other, key, sink, scope),
    }
}

pub fn read_bool(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<bool> {
    match &node.value {
        Value::Bool(b) => Some(*b),
        Value::Str(s) => {
            let hint = match s.trim_end_matches([',', ' ']).to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => {
                    Some("write `true` (without quotes or trailing characters)".into())
                }
                "false" | "no" | "off" => {
                    Some("write `false` (without quotes or trailing characters)".into())
                }
                _ => None,
            };
            sink.error(
                scope,
                node.pos,
                format!("`{key}` must be true or false, found the text `{s}`"),
                hint,
            );
            None
        }
        other => {
            sink.error(
                scope,
                node.pos,
                format!("`{key}` must be true or false, found {}", other.kind()),
                None,
            );
            None
        }
    }
}

/// An integer that must fit `T` (`u32` refuses negatives, `i32` huge values).
fn read_int<T: TryFrom<i64>>(
    node: &Node,
    key: &str,
    range: &str,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<T> {
    let problem = match &node.value {
        Value::Int(i) => match T::try_from(*i) {
            Ok(v) => return Some(v),
            Err(_) => format!("`{key}` must be {range}, found {i}"),
        },
        other => format!("`{key}` must be a whole number, found {}", other.kind()),
    };
    sink.error(scope, node.pos, problem, None);
    None
}

pub fn read_u32(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<u32> {
    read_int(node, key, "0 or more", sink, scope)
}

pub fn read_i32(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<i32> {
    read_int(node, key, "a 32-bit number", sink, scope)
}

pub fn read_duration(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<Duration> {
    match duration_from_json(&node.to_json()) {
        Ok(d) => Some(d),
        Err(e) => {
            sink.error(scope, node.pos, format!("`{key}`: {e}"), None);
            None
        }
    }
}

/// A time zone name from the IANA database (`Europe/Amsterdam`, `UTC`).
pub fn read_tz(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<Tz> {
    let name = expect_str(node, key, sink, scope)?;
    match name.trim().parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            let hint = did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()))
                .unwrap_or_else(|| "use an IANA name such as `UTC` or `Europe/Amsterdam`".into());
            sink.error(
                scope,
                node.pos,
                format!("unknown time zone `{name}`"),
                Some(hint),
            );
            None
        }
    }
}

/// A date: the string forms of [`DateSpec::parse`], or a `datetime.datetime` /
/// `datetime.date` object (`{__type__: datetime.datetime, year: 2024, month: 1, day: 1}`).
pub fn read_date(
    node: &Node,
    key: &str,
    tz: Tz,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<DateSpec> {
    let result = match &node.value {
        Value::Str(s) => DateSpec::parse(s, tz),
        Value::Map(_) => date_object(&node.to_json()).map(|naive| DateSpec::local(naive, tz)),
        other => Err(format!(
            "expected a date like `2024-01-01`, found {}",
            other.kind()
        )),
    };
    match result {
        Ok(d) => Some(d),
        Err(e) => {
            sink.error(scope, node.pos, format!("`{key}`: {e}"), None);
            None
        }
    }
}

fn date_object(v: &Json) -> Result<NaiveDateTime, String> {
    let ty = v.get("__type__").and_then(Json::as_str).unwrap_or("");
    if !matches!(
        ty,
        "datetime.datetime" | "datetime.date" | "pendulum.datetime"
    ) {
        return Err(format!(
            "expected a date, found a mapping{}",
            if ty.is_empty() {
                String::new()
            } else {
                format!(" of type `{ty}`")
            }
        ));
    }
    let positional = v.get("__args__").and_then(Json::as_array);
    let field = |name: &str, index: usize, default: i64| -> Result<i64, String> {
        v.get(name)
            .or_else(|| positional.and_then(|a| a.get(index)))
            .map(|x| {
                x.as_i64()
                    .ok_or_else(|| format!("`{name}` must be a whole number"))
            })
            .unwrap_or(Ok(default))
    };
    let (y, mo, d) = (
        field("year", 0, -1)?,
        field("month", 1, -1)?,
        field("day", 2, -1)?,
    );
    let (h, mi, s) = (
        field("hour", 3, 0)?,
        field("minute", 4, 0)?,
        field("second", 5, 0)?,
    );
    if !(1..=9999).contains(&y) {
        return Err(format!("year {y} is outside the years 1 to 9999"));
    }
    let date = i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?))
        .ok_or("year, month and day must form a real date")?;
    let time = NaiveTime::from_hms_opt(
        u32::try_from(h).map_err(|_| "bad hour")?,
        u32::try_from(mi).map_err(|_| "bad minute")?,
        u32::try_from(s).map_err(|_| "bad second")?,
    )
    .ok_or("hour, minute and second must form a real time")?;
    Ok(date.and_time(time))
}

/// A list of strings; a single string counts as a list of one.
pub fn read_string_list(
    node: &Node,
    key: &str,
    sink: &mut Sink,
    scope: &Scope,
) -> Vec<(String, Pos)> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Str(s) => vec![(s.clone(), node.pos)],
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| read_text(item, key, sink, scope).map(|s| (s, item.pos)))
            .collect(),
        other => {
            sink.error(
                scope,
                node.pos,
                format!("`{key}` must be a list of names, found {}", other.kind()),
                Some(format!("write `{key}: [a, b]`")),
            );
            Vec::new()
        }
    }
}

/// A free-form value handed to tasks as JSON (params, op_kwargs, conf). Python
/// objects (`__type__`) cannot be passed and are reported.
pub fn read_json(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<Json> {
    let json = node.to_json();
    match find_python_object(&json) {
        None => Some(json),
        Some(ty) => {
            sink.error(
                scope,
                node.pos,
                format!("`{key}` holds a `{ty}` object; Kairos hands tasks JSON values, not Python objects"),
                Some("write the value as plain YAML (text, numbers, lists, mappings)".into()),
            );
            None
        }
    }
}

/// A free-form mapping (params, op_kwargs).
pub fn read_json_map(
    node: &Node,
    key: &str,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<BTreeMap<String, Json>> {
    if node.is_null() {
        return Some(BTreeMap::new());
    }
    if node.as_map().is_none() {
        sink.error(
            scope,
            node.pos,
            format!("`{key}` must be a mapping, found {}", node.value.kind()),
            None,
        );
        return None;
    }
    match read_json(node, key, sink, scope)? {
        Json::Object(m) => Some(m.into_iter().collect()),
        _ => None,
    }
}

/// The `__type__` of the first Python object inside a JSON value, if any.
pub fn find_python_object(v: &Json) -> Option<String> {
    match v {
        Json::Object(m) => m
            .get("__type__")
            .map(|t| t.as_str().unwrap_or("?").to_string())
            .or_else(|| m.values().find_map(find_python_object)),
        Json::Array(items) => items.iter().find_map(find_python_object),
        _ => None,
    }
}

/// An execution environment's name (`environment` of a DAG, a task or
/// `default_args`): text that is a valid id, as workers name theirs.
pub fn read_environment(node: &Node, key: &str, sink: &mut Sink, scope: &Scope) -> Option<String> {
    let name = read_text(node, key, sink, scope)?;
    if super::is_valid_id(&name) {
        return Some(name);
    }
    sink.error(
        scope,
        node.pos,
        format!("`{key}`: `{name}` is not a valid environment name"),
        Some(
            "use letters, digits, `_`, `-` and `.`, as the workers' `--environment NAME=PATH` do"
                .into(),
        ),
    );
    None
}
