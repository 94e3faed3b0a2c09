//! Reading an operator's arguments from a JSON map, with errors that name the key.
//!
//! Operators are parsed from JSON (not from the YAML tree) because the same parse
//! runs again at run time for mapped tasks, with arguments that came from an
//! upstream task's XCom. Each error names its key so the loader can point at the
//! key's line and column.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::duration::Duration;
use crate::suggest::did_you_mean;

/// One problem with one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The argument it is about; `None` for the operator as a whole.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// Walks an argument map; every key asked for counts as known, so that what is left
/// at the end is reported as unknown (with a suggestion among the known ones).
pub struct Args<'a> {
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
    errors: Vec<ArgError>,
    /// Every key is taken (a TaskFlow function's keyword arguments): none is unknown.
    open: bool,
}

impl<'a> Args<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Args<'a> {
        Args {
            map,
            known: Vec::new(),
            errors: Vec::new(),
            open: false,
        }
    }

    /// Every key not asked for yet, taken as is; after this no key is unknown.
    pub fn take_rest(&mut self) -> BTreeMap<String, Value> {
        self.open = true;
        self.map
            .iter()
            .filter(|(k, _)| !self.known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The value of `key`; JSON null counts as absent, as Python's `None` default does.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// True when the key is present at all, even as null.
    pub fn is_written(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn error(&mut self, key: &str, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(ArgError {
            key: Some(key.to_string()),
            message: message.into(),
            hint,
        });
    }

    fn wrong_type(&mut self, key: &str, want: &str, got: &Value) {
        self.error(
            key,
            format!("`{key}` must be {want}, found {}", json_kind(got)),
            None,
        );
    }

    pub fn string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            // Numbers and booleans are fine where text is wanted (a command `42`).
            v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
            v => {
                self.wrong_type(key, "a string", v);
                None
            }
        }
    }

    pub fn required_string(&mut self, key: &'static str, example: &str) -> Option<String> {
        let value = self.string(key);
        if value.is_none() && !self.has(key) {
            self.error(
                key,
                format!("`{key}` is required"),
                Some(format!("add e.g. `{key}: {example}`")),
            );
        }
        value
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.wrong_type(key, "true or false", v);
                default
            }
        }
    }

    pub fn int(&mut self, key: &'static str) -> Option<i64> {
        match self.get(key)? {
            Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
            v => {
                self.wrong_type(key, "a whole number", v);
                None
            }
        }
    }

    pub fn duration(&mut self, key: &'static str) -> Option<Duration> {
        let value = self.get(key)?;
        match duration_from_json(value) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(key, format!("`{key}`: {e}"), None);
                None
            }
        }
    }

    /// Any JSON value, kept as written (conf, data, op_args items).
    pub fn json(&mut self, key: &'static str) -> Option<Value> {
        self.get(key).cloned()
    }

    pub fn list(&mut self, key: &'static str) -> Option<Vec<Value>> {
        match self.get(key)? {
            Value::Array(items) => Some(items.clone()),
            v => {
                self.wrong_type(key, "a list", v);
                None
            }
        }
    }

    pub fn json_map(&mut self, key: &'static str) -> Option<BTreeMap<String, Value>> {
        match self.get(key)? {
            Value::Object(m) => Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            v => {
                self.wrong_type(key, "a mapping", v);
                None
            }
        }
    }

    /// A mapping of names to text (env, headers); numbers and booleans become text.
    pub fn string_map(&mut self, key: &'static str) -> Option<BTreeMap<String, String>> {
        let map = self.json_map(key)?;
        let mut out = BTreeMap::new();
        for (k, v) in map {
            match v {
                Value::String(s) => {
                    out.insert(k, s);
                }
                Value::Number(_) | Value::Bool(_) => {
                    out.insert(k, v.to_string());
                }
                other => self.error(
                    key,
                    format!("`{key}.{k}` must be text, found {}", json_kind(&other)),
                    None,
                ),
            }
        }
        Some(out)
    }

    /// A list of strings; a single string is a list of one (as Airflow accepts).
    pub fn string_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            self.wrong_type(key, "a list of strings", other);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            v => {
                self.wrong_type(key, "a string or a list of strings", v);
                None
            }
        }
    }

    /// Reports every key nobody asked for. `also_known` are keys handled elsewhere
    /// (the task's own keys), offered as suggestions too.
    pub fn finish(mut self, operator: &str, also_known: &[&str]) -> Result<(), Vec<ArgError>> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.open && !self.known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        for key in unknown {
            let candidates = self.known.iter().copied().chain(also_known.iter().copied());
            self.errors.push(ArgError {
                key: Some(key.clone()),
                message: format!(
                    "unknown key `{key}`: neither a task setting nor an argument of {operator}"
                ),
                hint: did_you_mean(key, candidates),
            });
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    /// The keys asked for so far (the operator's arguments).
    pub fn known(&self) -> &[&'static str] {
        &self.known
    }
}

/// A short name of a JSON value's type, for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A duration from JSON: seconds as a number, a duration string, or a Python
/// `timedelta` as a mapping (`{minutes: 5}` or `{__type__: datetime.timedelta, minutes: 5}`).
pub fn duration_from_json(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => Duration::from_seconds_number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Duration::parse(s),
        Value::Object(m) => timedelta_from_json(m),
        other => Err(format!(
            "expected a duration (seconds, `5m`, or `{{minutes: 5}}`), found {}",
            json_kind(other)
        )),
    }
}

/// `{days: 1, hours: 2}` or `{__type__: datetime.timedelta, ...}`, with Python's
/// positional order (`days, seconds, microseconds, milliseconds, minutes, hours, weeks`)
/// for `__args__`.
pub fn timedelta_from_json(m: &Map<String, Value>) -> Result<Duration, String> {
    const POSITIONAL: [&str; 7] = [
        "days",
        "seconds",
        "microseconds",
        "milliseconds",
        "minutes",
        "hours",
        "weeks",
    ];
    let mut parts: Vec<(String, f64)> = Vec::new();
    for (k, v) in m {
        match k.as_str() {
            "__type__" => match v.as_str() {
                Some("datetime.timedelta" | "timedelta" | "pendulum.duration") => {}
                _ => return Err(format!("`{v}` is not a timedelta type")),
            },
            "__args__" => {
                let items = v.as_array().ok_or("`__args__` must be a list")?;
                if items.len() > POSITIONAL.len() {
                    return Err("timedelta takes at most 7 positional arguments".into());
                }
                for (name, item) in POSITIONAL.iter().zip(items) {
                    let amount = item.as_f64().ok_or("timedelta arguments must be numbers")?;
                    parts.push(((*name).to_string(), amount));
                }
            }
            unit => {
                let amount = v
                    .as_f64()
                    .ok_or_else(|| format!("`{unit}` must be a number"))?;
                parts.push((unit.to_string(), amount));
            }
        }
    }
    let mut borrowed: Vec<(&str, f64)> = Vec::with_capacity(parts.len());
    for (unit, amount) in &parts {
        if unit == "microseconds" {
            borrowed.push(("milliseconds", amount / 1000.0));
        } else if Duration::timedelta_unit_millis(unit).is_some() {
            borrowed.push((unit.as_str(), *amount));
        } else {
            let hint = did_you_mean(unit, Duration::TIMEDELTA_UNITS.iter().copied())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            return Err(format!(
                "`{unit}` is not a timedelta argument{hint}; use {}",
                Duration::TIMEDELTA_UNITS.join(", ")
            ));
        }
    }
    Duration::from_timedelta_parts(&borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_from_every_form() {
        assert_eq!(
            duration_from_json(&json!(300)),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            duration_from_json(&json!("5m")),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            duration_from_json(&json!({"minutes": 5})),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            duration_from_json(
                &json!({"__type__": "datetime.timedelta", "hours": 1, "minutes": 30})
            ),
            Ok(Duration::from_secs(5400))
        );
        assert_eq!(
            duration_from_json(&json!({"__type__": "datetime.timedelta", "__args__": [1, 30]})),
            Ok(Duration::from_secs(86430))
        );
        let err = duration_from_json(&json!({"minuts": 5})).expect_err("typo");
        assert!(err.contains("minutes"), "{err}");
        assert!(duration_from_json(&json!([1])).is_err());
    }

    #[test]
    fn unknown_keys_are_reported_with_suggestions() {
        let map = json!({"bash_comand": "echo", "retries": 1});
        let map = map.as_object().expect("object");
        let mut a = Args::new(map);
        let _ = a.string("bash_command");
        let errs = a.finish("BashOperator", &[]).expect_err("unknown");
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].key.as_deref(), Some("bash_comand"));
        assert_eq!(
            errs[0].hint.as_deref(),
            Some("did you mean `bash_command`?")
        );
    }
}
