//! Task groups: the `task_groups` mapping or list, nesting through
//! `parent_group_name`, ids prefixed as Airflow builds them, and the effective
//! `default_args` of each group (its own over its parent's, down to the DAG's, each
//! key replaced whole, as Airflow's `dict.update` does).

use super::default_args::check_default_args;
use super::merge::merge_shallow;
use super::read::{MapReader, read_bool, read_string_list, read_text};
use super::sink::{Scope, Sink};
use crate::model::TaskGroup;
use crate::yaml::{Node, Pos, Value};

pub struct GroupDraft {
    pub name: String,
    pub pos: Pos,
    pub parent: Option<(String, Pos)>,
    pub dependencies: Vec<(String, Pos)>,
    pub tooltip: Option<String>,
    pub prefix_group_id: bool,
    pub default_args: Option<Node>,
    /// Set by [`resolve_groups`].
    pub group_id: String,
    /// Index of the parent group, set by [`resolve_groups`].
    pub parent_index: Option<usize>,
    /// The `default_args` its tasks inherit, set by [`resolve_groups`].
    pub effective_defaults: Option<Node>,
}

/// Reads `task_groups` in either form.
pub fn read_groups(node: &Node, sink: &mut Sink, scope: &Scope) -> Vec<GroupDraft> {
    let mut out = Vec::new();
    match &node.value {
        Value::Null => {}
        Value::Map(entries) => {
            for (k, body) in entries {
                if let Some(g) = read_group(&k.name, k.pos, body, sink, scope) {
                    out.push(g);
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                match item.get("group_name") {
                    Some(n) => {
                        if let Some(name) = read_text(n, "group_name", sink, scope) {
                            if let Some(g) = read_group(&name, n.pos, item, sink, scope) {
                                out.push(g);
                            }
                        }
                    }
                    None => sink.error(
                        scope,
                        item.pos,
                        "a task group in list form needs `group_name`",
                        None,
                    ),
                }
            }
        }
        other => sink.error(
            scope,
            node.pos,
            format!(
                "`task_groups` must be a mapping or a list, found {}",
                other.kind()
            ),
            None,
        ),
    }
    for (i, g) in out.iter().enumerate() {
        if let Some(first) = out[..i].iter().find(|o| o.name == g.name) {
            sink.error(
                scope,
                g.pos,
                format!(
                    "task group `{}` is defined twice (first at line {})",
                    g.name, first.pos.line
                ),
                None,
            );
        }
    }
    out
}

fn read_group(
    name: &str,
    pos: Pos,
    body: &Node,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<GroupDraft> {
    if !is_group_key(name) {
        sink.error(
            scope,
            pos,
            format!("`{name}` is not a valid task group id"),
            Some(
                "use letters, digits, `_` and `-` only (no dots: they separate group prefixes)"
                    .into(),
            ),
        );
    }
    let what = format!("task group `{name}`");
    let mut r = MapReader::new(body, &what, sink, scope)?;
    let _ = r.take("group_name");
    let parent = r
        .take("parent_group_name")
        .and_then(|n| read_text(n, "parent_group_name", sink, scope).map(|p| (p, n.pos)));
    let dependencies = r
        .take("dependencies")
        .map(|n| read_string_list(n, "dependencies", sink, scope))
        .unwrap_or_default();
    let tooltip = r
        .take("tooltip")
        .and_then(|n| read_text(n, "tooltip", sink, scope));
    let prefix_group_id = r
        .take("prefix_group_id")
        .and_then(|n| read_bool(n, "prefix_group_id", sink, scope))
        .unwrap_or(true);
    let default_args = r.take("default_args").cloned();
    if let Some(d) = &default_args {
        check_default_args(d, sink, scope);
    }
    for ui in ["ui_color", "ui_fgcolor", "add_suffix_on_collision"] {
        let _ = r.take(ui);
    }
    r.finish(&what, sink, scope, &[]);
    Some(GroupDraft {
        name: name.to_string(),
        pos,
        parent,
        dependencies,
        tooltip,
        prefix_group_id,
        default_args,
        group_id: String::new(),
        parent_index: None,
        effective_defaults: None,
    })
}

/// Airflow's group id rule: `^[\w-]+$`, at most 200 characters.
fn is_group_key(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Links parents, refuses unknown parents and nesting cycles, and computes full ids
/// and effective defaults. Returns false if a group could not be resolved.
pub fn resolve_groups(
    groups: &mut [GroupDraft],
    dag_defaults: Option<&Node>,
    sink: &mut Sink,
    scope: &Scope,
) -> bool {
    let mut ok = true;
    for i in 0..groups.len() {
        if let Some((parent, ppos)) = groups[i].parent.clone() {
            match groups.iter().position(|g| g.name == parent) {
                Some(p) if p == i => {
                    sink.error(
                        scope,
                        ppos,
                        format!("task group `{parent}` cannot be its own parent"),
                        None,
                    );
                    ok = false;
                }
                Some(p) => groups[i].parent_index = Some(p),
                None => {
                    let names = groups.iter().map(|g| g.name.as_str());
                    sink.error(
                        scope,
                        ppos,
                        format!("`parent_group_name: {parent}` names no task group of this DAG"),
                        crate::suggest::did_you_mean(&parent, names),
                    );
                    ok = false;
                }
            }
        }
    }
    if !ok {
        return false;
    }
    // Resolve parents before children; a chain longer than the number of groups is a cycle.
    let mut done = vec![false; groups.len()];
    for _ in 0..=groups.len() {
        for i in 0..groups.len() {
            if done[i] {
                continue;
            }
            let (parent_id, parent_prefix, parent_defaults) = match groups[i].parent_index {
                None => (None, false, dag_defaults.cloned()),
                Some(p) if done[p] => (
                    Some(groups[p].group_id.clone()),
                    groups[p].prefix_group_id,
                    groups[p].effective_defaults.clone(),
                ),
                Some(_) => continue,
            };
            let g = &mut groups[i];
            g.group_id = match parent_id {
                Some(pid) if parent_prefix => format!("{pid}.{}", g.name),
                _ => g.name.clone(),
            };
            g.effective_defaults = match (&g.default_args, parent_defaults) {
                (Some(own), Some(base)) => Some(merge_shallow(own, &base)),
                (Some(own), None) => Some(own.clone()),
                (None, base) => base,
            };
            done[i] = true;
        }
    }
    for (i, g) in groups.iter().enumerate() {
        if !done[i] {
            sink.error(
                scope,
                g.pos,
                format!(
                    "task group `{}` is nested inside itself through `parent_group_name`",
                    g.name
                ),
                None,
            );
            ok = false;
        }
    }
    ok
}

impl GroupDraft {
    pub fn to_model(&self, groups: &[GroupDraft]) -> TaskGroup {
        TaskGroup {
            group_id: self.group_id.clone(),
            parent: self.parent_index.map(|p| groups[p].group_id.clone()),
            tooltip: self.tooltip.clone(),
            prefix_group_id: self.prefix_group_id,
        }
    }
}
