//! Assets and datasets in a DAG file, in every form dag-factory reads: a task's
//! `outlets` / `inlets` (URI strings, `__type__: airflow.sdk.Asset` objects,
//! aliases, or `{file:, datasets: [names]}` naming assets defined in another
//! YAML file), and a DAG's `schedule` on assets (a list = all of them,
//! `__and__` / `__or__`, a condition string `"(a & b) | c"`, and
//! `{datasets: ..., timetable: ...}` = assets or time).

use std::collections::BTreeMap;

use super::files::FileRefs;
use super::sink::{Scope, Sink};
use crate::asset::{AssetCondition, AssetRef};
use crate::yaml::{self, Node, Pos, Value};

/// `__type__`s of an asset (Airflow 3) or a dataset (Airflow 2).
const ASSET_TYPES: &[&str] = &[
    "airflow.sdk.Asset",
    "airflow.sdk.definitions.asset.Asset",
    "airflow.assets.Asset",
    "airflow.datasets.Dataset",
    "airflow.Dataset",
];
/// `__type__`s of an alias.
const ALIAS_TYPES: &[&str] = &[
    "airflow.sdk.AssetAlias",
    "airflow.sdk.definitions.asset.AssetAlias",
    "airflow.datasets.DatasetAlias",
];

/// Whether a `schedule` value is on assets (not a time schedule).
pub fn is_asset_schedule(node: &Node) -> bool {
    match &node.value {
        Value::Seq(_) => true,
        Value::Map(_) => {
            ["datasets", "assets", "__and__", "__or__"]
                .iter()
                .any(|k| node.get(k).is_some())
                || type_of(node).is_some_and(|t| ASSET_TYPES.contains(&t))
        }
        _ => false,
    }
}

fn type_of(node: &Node) -> Option<&str> {
    node.get("__type__").and_then(Node::as_str)
}

/// What a DAG's asset `schedule` says: the condition, and the `timetable` node
/// when runs are also due by time.
pub struct AssetSchedule<'n> {
    pub condition: AssetCondition,
    pub timetable: Option<&'n Node>,
}

/// Reads a `schedule` on assets (see [`is_asset_schedule`]); files it names are
/// captured into the version and their keys added to `files`.
pub fn read_asset_schedule<'n>(
    node: &'n Node,
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<AssetSchedule<'n>> {
    let mut names = Names::default();
    let mut timetable = None;
    let body = match &node.value {
        Value::Map(entries) if node.get("datasets").is_some() || node.get("assets").is_some() => {
            for (k, v) in entries {
                match k.name.as_str() {
                    "datasets" | "assets" => {}
                    "file" => names = Names::from_file(v, refs, files, sink, scope)?,
                    "timetable" => timetable = Some(v),
                    other => {
                        sink.error(
                            scope,
                            k.pos,
                            format!("unknown key `{other}` in an asset `schedule`"),
                            Some("use `datasets` (or `assets`), `file` and `timetable`".into()),
                        );
                        return None;
                    }
                }
            }
            node.get("datasets").or_else(|| node.get("assets"))?
        }
        _ => node,
    };
    let condition = condition(body, &names, sink, scope)?;
    Some(AssetSchedule {
        condition,
        timetable,
    })
}

fn condition(node: &Node, names: &Names, sink: &mut Sink, scope: &Scope) -> Option<AssetCondition> {
    let fail = |sink: &mut Sink, pos: Pos, message: String| {
        sink.error(scope, pos, message, None);
        None
    };
    match &node.value {
        Value::Str(text) => match AssetCondition::parse(text, &|n| names.resolve(n)) {
            Ok(c) => Some(c),
            Err(e) => fail(sink, node.pos, format!("asset condition: {e}")),
        },
        Value::Seq(items) => {
            let all: Option<Vec<AssetCondition>> = items
                .iter()
                .map(|i| condition(i, names, sink, scope))
                .collect();
            let all = all?;
            if all.is_empty() {
                return fail(
                    sink,
                    node.pos,
                    "an empty list of assets is never met".into(),
                );
            }
            Some(AssetCondition::All(all))
        }
        Value::Map(_) => {
            for (key, make) in [
                ("__and__", AssetCondition::All as fn(_) -> _),
                ("__or__", AssetCondition::Any as fn(_) -> _),
            ] {
                if let Some(items) = node.get(key) {
                    let Value::Seq(list) = &items.value else {
                        return fail(sink, items.pos, format!("`{key}` takes a list"));
                    };
                    let all: Option<Vec<AssetCondition>> = list
                        .iter()
                        .map(|i| condition(i, names, sink, scope))
                        .collect();
                    return Some(make(all?));
                }
            }
            match asset_object(node, sink, scope)? {
                AssetRef::Asset { uri, .. } => Some(AssetCondition::Asset(uri)),
                AssetRef::Alias { name } => fail(
                    sink,
                    node.pos,
                    format!(
                        "a schedule on the alias `{name}` is not supported yet; schedule on the assets it stands for"
                    ),
                ),
            }
        }
        other => fail(
            sink,
            node.pos,
            format!(
                "an asset is a URI, an `Asset` object, `__and__` or `__or__`, not {}",
                other.kind()
            ),
        ),
    }
}

/// An `{__type__: airflow.sdk.Asset, uri:, name:}` or alias object.
fn asset_object(node: &Node, sink: &mut Sink, scope: &Scope) -> Option<AssetRef> {
    let ty = type_of(node).unwrap_or_default();
    let text = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_string);
    if ALIAS_TYPES.contains(&ty) {
        return match text("name") {
            Some(name) => Some(AssetRef::Alias { name }),
            None => {
                sink.error(scope, node.pos, format!("`{ty}` needs a `name`"), None);
                None
            }
        };
    }
    if !ASSET_TYPES.contains(&ty) {
        sink.error(
            scope,
            node.pos,
            if ty.is_empty() {
                "an asset mapping needs `__type__: airflow.sdk.Asset` (or a dataset's or alias's type)"
                    .to_string()
            } else {
                format!("`{ty}` is not an asset type")
            },
            Some(format!("asset types: {}; alias types: {}", ASSET_TYPES.join(", "), ALIAS_TYPES.join(", "))),
        );
        return None;
    }
    let name = text("name");
    match text("uri").or_else(|| name.clone()) {
        Some(uri) if !uri.trim().is_empty() => Some(AssetRef::Asset { uri, name }),
        _ => {
            sink.error(
                scope,
                node.pos,
                format!("`{ty}` needs a `uri` or a `name`"),
                None,
            );
            None
        }
    }
}

/// Reads `outlets` or `inlets`.
pub fn read_refs(
    node: &Node,
    key: &str,
    refs: &mut FileRefs<'_>,
    files: &mut Vec<String>,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<Vec<AssetRef>> {
    match &node.value {
        Value::Null => Some(Vec::new()),
        Value::Str(uri) => Some(vec![AssetRef::Asset {
            uri: uri.clone(),
            name: None,
        }]),
        Value::Seq(items) => items
            .iter()
            .map(|i| match &i.value {
                Value::Str(uri) => Some(AssetRef::Asset {
                    uri: uri.clone(),
                    name: None,
                }),
                Value::Map(_) => asset_object(i, sink, scope),
                other => {
                    sink.error(
                        scope,
                        i.pos,
                        format!(
                            "`{key}` holds URIs or `Asset` objects, not {}",
                            other.kind()
                        ),
                        None,
                    );
                    None
                }
            })
            .collect(),
        Value::Map(_) if node.get("file").is_some() => {
            let names = Names::from_file(node.get("file")?, refs, files, sink, scope)?;
            let listed = node.get("datasets").or_else(|| node.get("assets"));
            let Some(Node {
                value: Value::Seq(items),
                ..
            }) = listed
            else {
                sink.error(
                    scope,
                    node.pos,
                    format!("`{key}` with `file` needs `datasets: [names]`"),
                    None,
                );
                return None;
            };
            items
                .iter()
                .map(|i| {
                    let Some(n) = i.as_str() else {
                        sink.error(scope, i.pos, "a dataset's name is text", None);
                        return None;
                    };
                    match names.resolve(n) {
                        Ok(uri) => Some(AssetRef::Asset {
                            uri,
                            name: Some(n.to_string()),
                        }),
                        Err(e) => {
                            sink.error(scope, i.pos, e, None);
                            None
                        }
                    }
                })
                .collect()
        }
        Value::Map(_) => asset_object(node, sink, scope).map(|a| vec![a]),
        other => {
            sink.error(
                scope,
                node.pos,
                format!(
                    "`{key}` holds URIs or `Asset` objects, not {}",
                    other.kind()
                ),
                None,
            );
            None
        }
    }
}

/// Dataset names defined in a YAML file (`datasets: [{name, uri}]`), or none:
/// then a name is its own URI.
#[derive(Default)]
struct Names {
    file: Option<String>,
    by_name: BTreeMap<String, String>,
}

impl Names {
    fn from_file(
        node: &Node,
        refs: &mut FileRefs<'_>,
        files: &mut Vec<String>,
        sink: &mut Sink,
        scope: &Scope,
    ) -> Option<Names> {
        let Some(written) = node.as_str() else {
            sink.error(scope, node.pos, "`file` is the path of a YAML file", None);
            return None;
        };
        let key = match refs.capture(written) {
            Ok(k) => k,
            Err(e) => {
                sink.error(scope, node.pos, format!("`file`: {e}"), None);
                return None;
            }
        };
        files.push(key.clone());
        let text = refs.content(&key).unwrap_or_default().to_string();
        let by_name = match definitions(&text) {
            Ok(m) => m,
            Err(e) => {
                sink.error(scope, node.pos, format!("`file` {key}: {e}"), None);
                return None;
            }
        };
        Some(Names {
            file: Some(key),
            by_name,
        })
    }

    fn resolve(&self, name: &str) -> Result<String, String> {
        match &self.file {
            None => Ok(name.to_string()),
            Some(file) => self.by_name.get(name).cloned().ok_or_else(|| {
                format!(
                    "no dataset `{name}` in {file} (it defines: {})",
                    self.by_name.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }),
        }
    }
}

/// Whether a parsed YAML file is a file of dataset definitions (`datasets:` or
/// `assets:` and a list, nothing else): not a DAG file.
pub fn is_definitions_file(doc: &Node) -> bool {
    match &doc.value {
        Value::Map(entries) => {
            entries.len() == 1
                && matches!(entries[0].0.name.as_str(), "datasets" | "assets")
                && matches!(entries[0].1.value, Value::Seq(_))
        }
        _ => false,
    }
}

fn definitions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc = yaml::parse(text).map_err(|e| format!("invalid YAML: {}", e.message))?;
    if !is_definitions_file(&doc) {
        return Err("expected `datasets:` with a list of `{name, uri}`".into());
    }
    let Some(Value::Seq(items)) = doc.as_map().map(|m| &m[0].1.value) else {
        return Err("expected a list".into());
    };
    let mut out = BTreeMap::new();
    for i in items {
        let name = i.get("name").and_then(Node::as_str);
        let uri = i.get("uri").and_then(Node::as_str).or(name);
        match (name, uri) {
            (Some(n), Some(u)) => {
                out.insert(n.to_string(), u.to_string());
            }
            _ => {
                return Err(format!(
                    "line {}: a dataset needs a `name` (and a `uri`)",
                    i.pos.line
                ));
            }
        }
    }
    Ok(out)
}
