//! Dependencies: names of tasks and task groups, resolved to task-to-task edges.
//!
//! As in Airflow, depending on a group means depending on its leaves (its tasks
//! with nothing downstream inside it), and a group depending on something means its
//! roots do. Which tasks are a group's roots and leaves depends on the edges inside
//! it, so edges are expanded innermost first: an edge is expanded only after every
//! edge between tasks and groups nested deeper than it.

use std::collections::{BTreeSet, HashMap};

use super::groups::GroupDraft;
use super::sink::{Scope, Sink};
use super::task::TaskDraft;
use crate::graph::DagGraph;
use crate::suggest::did_you_mean;
use crate::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Task(usize),
    Group(usize),
}

/// Fills every task's `upstream` with task ids, reporting every problem (unknown or
/// ambiguous name, a group depending on its own member, a cycle) to the sink.
pub fn resolve_dependencies(
    tasks: &mut [TaskDraft],
    groups: &[GroupDraft],
    unreadable: &BTreeSet<String>,
    sink: &mut Sink,
    scope: &Scope,
) {
    let mut names: HashMap<&str, Item> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        names.insert(g.name.as_str(), Item::Group(i));
    }
    for (i, t) in tasks.iter().enumerate() {
        if names.contains_key(t.name.as_str()) {
            sink.error(
                scope,
                t.pos,
                format!(
                    "`{}` names both a task and a task group, so dependencies on it are ambiguous",
                    t.name
                ),
                Some("rename one of them".into()),
            );
        }
        names.insert(t.name.as_str(), Item::Task(i));
    }
    // Groups containing an item, outermost first (a group's own chain excludes itself).
    let group_chain = |mut g: Option<usize>| -> Vec<usize> {
        let mut chain = Vec::new();
        while let Some(i) = g {
            chain.push(i);
            g = groups[i].parent_index;
        }
        chain.reverse();
        chain
    };
    let task_group: Vec<Option<usize>> = tasks
        .iter()
        .map(|t| {
            t.group
                .as_ref()
                .and_then(|(g, _)| groups.iter().position(|x| &x.name == g))
        })
        .collect();
    let chain_of = |item: Item| match item {
        Item::Task(t) => group_chain(task_group[t]),
        Item::Group(g) => group_chain(groups[g].parent_index),
    };

    // (downstream, upstream, where written, depth of the innermost group holding both)
    let mut edges: Vec<(Item, Item, Pos, usize)> = Vec::new();
    let mut declared: Vec<(Item, &(String, Pos))> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        for dep in t.dependencies.iter().chain(&t.implied_upstream) {
            declared.push((Item::Task(i), dep));
        }
        for (name, pos) in &t.implied_upstream {
            if let Some(Item::Group(_)) = names.get(name.as_str()) {
                sink.error(
                    scope,
                    *pos,
                    format!("`{name}.output`: `{name}` is a task group; `expand` takes the output of a task"),
                    None,
                );
            }
        }
    }
    for (i, g) in groups.iter().enumerate() {
        for dep in &g.dependencies {
            declared.push((Item::Group(i), dep));
        }
    }
    for (down, (name, pos)) in declared {
        if unreadable.contains(name) {
            // That task has its own error; the dependency itself is fine.
            continue;
        }
        let Some(&up) = names.get(name.as_str()) else {
            let all = names.keys().copied();
            sink.error(
                scope,
                *pos,
                format!(
                    "unknown dependency `{name}`: no task or task group of this DAG has that name"
                ),
                did_you_mean(name, all),
            );
            continue;
        };
        if up == down {
            sink.error(scope, *pos, format!("`{name}` depends on itself"), None);
            continue;
        }
        let (cd, cu) = (chain_of(down), chain_of(up));
        let contains = |outer: Item, inner_chain: &[usize]| matches!(outer, Item::Group(g) if inner_chain.contains(&g));
        if contains(down, &cu) || contains(up, &cd) {
            sink.error(
                scope,
                *pos,
                format!("a task group and a member of it cannot depend on each other (`{name}`)"),
                None,
            );
            continue;
        }
        let depth = cd.iter().zip(&cu).take_while(|(a, b)| a == b).count();
        edges.push((down, up, *pos, depth));
    }
    // Edges that did resolve are still expanded and checked, so that a cycle among
    // them is reported in the same pass as unknown names.
    edges.sort_by_key(|e| std::cmp::Reverse(e.3));

    let members: Vec<BTreeSet<usize>> = (0..groups.len())
        .map(|g| {
            (0..tasks.len())
                .filter(|&t| group_chain(task_group[t]).contains(&g))
                .collect()
        })
        .collect();
    let mut upstream: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tasks.len()];
    for (down, up, pos, _) in edges {
        let ups = match up {
            Item::Task(t) => vec![t],
            Item::Group(g) => boundary(&members[g], &upstream, false),
        };
        let downs = match down {
            Item::Task(t) => vec![t],
            Item::Group(g) => boundary(&members[g], &upstream, true),
        };
        if ups.is_empty() || downs.is_empty() {
            let empty = if ups.is_empty() { up } else { down };
            if let Item::Group(g) = empty {
                sink.warn(
                    scope,
                    pos,
                    format!(
                        "task group `{}` has no tasks, so this dependency has no effect",
                        groups[g].name
                    ),
                    None,
                );
            }
        }
        for &d in &downs {
            for &u in &ups {
                upstream[d].insert(u);
            }
        }
    }
    // Task ids are final by now (group prefixes applied by the caller).
    let ids: Vec<String> = tasks.iter().map(|t| t.task.task_id.clone()).collect();
    for (i, t) in tasks.iter_mut().enumerate() {
        let mut ups: Vec<String> = upstream[i].iter().map(|&u| ids[u].clone()).collect();
        ups.sort();
        t.task.upstream = ups;
    }
    check_cycles(tasks, sink, scope);
}

/// A group's roots (`roots = true`: members with no upstream inside the group) or
/// leaves (members with no downstream inside the group), given the edges so far.
fn boundary(members: &BTreeSet<usize>, upstream: &[BTreeSet<usize>], roots: bool) -> Vec<usize> {
    members
        .iter()
        .copied()
        .filter(|&m| {
            if roots {
                !upstream[m].iter().any(|u| members.contains(u))
            } else {
                !members.iter().any(|&other| upstream[other].contains(&m))
            }
        })
        .collect()
}

fn check_cycles(tasks: &[TaskDraft], sink: &mut Sink, scope: &Scope) {
    let graph = DagGraph::new(tasks.iter().map(|t| {
        (
            t.task.task_id.as_str(),
            t.task.upstream.iter().map(String::as_str),
        )
    }));
    let Ok(graph) = graph else {
        return;
    };
    if let Some(path) = graph.find_cycle() {
        let pos = tasks
            .iter()
            .find(|t| Some(&t.task.task_id) == path.first())
            .map(|t| t.pos)
            .unwrap_or_default();
        sink.error(
            scope,
            pos,
            format!("the dependencies form a cycle: {}", path.join(" -> ")),
            Some("a DAG must be acyclic; remove one of these dependencies".into()),
        );
    }
}
