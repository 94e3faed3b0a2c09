//! Query strings written from `kairos-api`'s query types, the very types the
//! server reads them into: each field that is set, in the order the type
//! declares them, percent-encoded. A field left out (`None`, or a default the
//! type skips) is not written; a list repeats its parameter.

use std::fmt;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::error::Error;
use crate::path::encode;

/// `params` as `name=value&...` (empty when nothing is set).
pub(crate) fn query(params: &impl Serialize) -> Result<String, Error> {
    let bad = |e: String| Error::Setup(format!("the query parameters cannot be written: {e}"));
    let text = serde_json::to_string(params).map_err(|e| bad(e.to_string()))?;
    let Pairs(pairs) = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (name, value) in pairs {
        let values = match value {
            Value::Array(values) => values,
            one => vec![one],
        };
        for value in values {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => encode(&s),
                Value::Bool(_) | Value::Number(_) => value.to_string(),
                other => return Err(bad(format!("`{name}` is not a plain value: {other}"))),
            };
            out.push(format!("{}={text}", encode(&name)));
        }
    }
    Ok(out.join("&"))
}

/// The members of a JSON object in the order they were written (a
/// `serde_json::Map` would sort them).
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pairs, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a struct of query parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests {
    use kairos_api::{DagListQuery, LogQuery, Page};

    use super::query;

    #[test]
    fn set_fields_in_declared_order_encoded_lists_repeated() {
        let page = Page {
            limit: Some(1000),
            after: Some("a b".into()),
            consistent: false,
            offset: None,
        };
        assert_eq!(query(&page).expect("page"), "limit=1000&after=a%20b");
        let log = LogQuery {
            map_index: Some(-1),
            offset: 0,
            ..LogQuery::default()
        };
        assert_eq!(query(&log).expect("log"), "map_index=-1&offset=0");
        let dags = DagListQuery {
            consistent: true,
            tags: vec!["x".into(), "y:z".into()],
            ..DagListQuery::default()
        };
        assert_eq!(
            query(&dags).expect("dags"),
            "consistent=true&tags=x&tags=y%3Az"
        );
        assert_eq!(query(&Page::default()).expect("empty"), "");
    }
}
