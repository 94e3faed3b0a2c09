//! Assets (Airflow 3's name for datasets): what a task's `outlets` update and
//! `inlets` read, and the condition on assets a DAG is scheduled on. An asset is
//! known by its URI (an `Asset` given only a name has the name as its URI, as in
//! Airflow 3); an alias names assets a task attaches at run time.
//!
//! ```
//! use kairos_dag::asset::AssetCondition;
//! let c = AssetCondition::parse("(s3://a & s3://b) | s3://c", &|n| Ok(n.to_string()))?;
//! assert!(c.is_met(&|uri| uri == "s3://c"));
//! assert!(!c.is_met(&|uri| uri == "s3://a"));
//! # Ok::<(), String>(())
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// An outlet or inlet of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssetRef {
    Asset {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// `AssetAlias` / `DatasetAlias`: assets the task names when it runs.
    Alias { name: String },
}

impl AssetRef {
    pub fn uri(&self) -> Option<&str> {
        match self {
            AssetRef::Asset { uri, .. } => Some(uri),
            AssetRef::Alias { .. } => None,
        }
    }
}

/// An asset event a task asks for as it runs (Airflow's `outlet_events`): the
/// `extra` of its event of a declared outlet asset (`alias` none), or an
/// event of `uri` through one of its outlet aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutletEvent {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

impl OutletEvent {
    /// Why a task with `outlets` may not report this event, if it may not.
    pub fn problem(&self, outlets: &[AssetRef]) -> Option<String> {
        match &self.alias {
            None if !outlets.iter().any(|o| o.uri() == Some(self.uri.as_str())) => Some(format!(
                "`{}` is not one of the task's outlets; add it to `outlets` (or add an \
                 AssetAlias there and the event through it)",
                self.uri
            )),
            Some(alias)
                if !outlets
                    .iter()
                    .any(|o| matches!(o, AssetRef::Alias { name } if name == alias)) =>
            {
                Some(format!(
                    "alias `{alias}` is not one of the task's outlets; add \
                     `{{__type__: airflow.sdk.AssetAlias, name: {alias}}}` to `outlets`"
                ))
            }
            _ if self.uri.is_empty() => Some("an asset event needs a URI".into()),
            _ => None,
        }
    }
}

/// The assets a DAG waits for: all of them, any of them, nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetCondition {
    Asset(String),
    All(Vec<AssetCondition>),
    Any(Vec<AssetCondition>),
}

impl AssetCondition {
    /// Whether the condition holds when `updated(uri)` says which assets have
    /// had an event since the DAG's last asset-triggered run.
    pub fn is_met(&self, updated: &dyn Fn(&str) -> bool) -> bool {
        match self {
            AssetCondition::Asset(uri) => updated(uri),
            AssetCondition::All(items) => items.iter().all(|c| c.is_met(updated)),
            AssetCondition::Any(items) => items.iter().any(|c| c.is_met(updated)),
        }
    }

    /// Every URI the condition names.
    pub fn uris(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            AssetCondition::Asset(uri) => {
                out.insert(uri);
            }
            AssetCondition::All(items) | AssetCondition::Any(items) => {
                items.iter().for_each(|c| c.collect(out))
            }
        }
    }

    /// A condition string as dag-factory writes it: `(a & b) | c`, where each
    /// operand is a URI or a name that `resolve` turns into one. `&` binds
    /// tighter than `|`, as in Python.
    pub fn parse(
        text: &str,
        resolve: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<AssetCondition, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser {
            tokens: &tokens,
            at: 0,
            resolve,
        };
        let c = p.any()?;
        if p.at != tokens.len() {
            return Err(format!("`{text}`: unexpected `{}`", tokens[p.at].text()));
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Name(String),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Open => "(",
            Token::Close => ")",
            Token::And => "&",
            Token::Or => "|",
            Token::Name(n) => n,
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut name = String::new();
    let flush = |name: &mut String, out: &mut Vec<Token>| {
        if !name.is_empty() {
            out.push(Token::Name(std::mem::take(name)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' | '&' | '|' => {
                flush(&mut name, &mut out);
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '&' => Token::And,
                    _ => Token::Or,
                });
            }
            c if c.is_whitespace() => flush(&mut name, &mut out),
            c => name.push(c),
        }
    }
    flush(&mut name, &mut out);
    if out.is_empty() {
        return Err("the condition is empty".into());
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    resolve: &'a dyn Fn(&str) -> Result<String, String>,
}

impl Parser<'_> {
    fn any(&mut self) -> Result<AssetCondition, String> {
        let mut items = vec![self.all()?];
        while self.tokens.get(self.at) == Some(&Token::Or) {
            self.at += 1;
            items.push(self.all()?);
        }
        Ok(one_or(items, AssetCondition::Any))
    }

    fn all(&mut self) -> Result<AssetCondition, String> {
        let mut items = vec![self.operand()?];
        while self.tokens.get(self.at) == Some(&Token::And) {
            self.at += 1;
            items.push(self.operand()?);
        }
        Ok(one_or(items, AssetCondition::All))
    }

    fn operand(&mut self) -> Result<AssetCondition, String> {
        match self.tokens.get(self.at) {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.any()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("a `(` is not closed".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Name(n)) => {
                self.at += 1;
                Ok(AssetCondition::Asset((self.resolve)(n)?))
            }
            Some(t) => Err(format!("expected an asset, found `{}`", t.text())),
            None => Err("the condition ends where an asset is expected".into()),
        }
    }
}

fn one_or(
    mut items: Vec<AssetCondition>,
    many: fn(Vec<AssetCondition>) -> AssetCondition,
) -> AssetCondition {
    if items.len() == 1 {
        items.remove(0)
    } else {
        many(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(n: &str) -> Result<String, String> {
        Ok(n.to_string())
    }

    #[test]
    fn condition_strings_parse_with_python_precedence() {
        let c = AssetCondition::parse("a | b & c", &same).unwrap();
        assert_eq!(
            c,
            AssetCondition::Any(vec![
                AssetCondition::Asset("a".into()),
                AssetCondition::All(vec![
                    AssetCondition::Asset("b".into()),
                    AssetCondition::Asset("c".into())
                ])
            ])
        );
        let c = AssetCondition::parse("((s3://x/1 & s3://x/2) | s3://x/3)", &same).unwrap();
        assert_eq!(c.uris().len(), 3);
        assert!(c.is_met(&|u| u == "s3://x/3"));
        assert!(c.is_met(&|u| u != "s3://x/3"));
        assert!(!c.is_met(&|u| u == "s3://x/1"));
    }

    #[test]
    fn bad_conditions_say_why() {
        for bad in ["", "(a & b", "a &", "a b", "& a", "a | )"] {
            assert!(AssetCondition::parse(bad, &same).is_err(), "{bad}");
        }
        let err =
            AssetCondition::parse("x", &|n| Err(format!("no asset named `{n}`"))).unwrap_err();
        assert!(err.contains("no asset named `x`"));
    }
}
