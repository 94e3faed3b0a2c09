//! The task graph of a DAG: order, cycles, leaves, relatives and priority weights.
//!
//! Built once per DAG version from each task's upstream list. Everything the
//! scheduler needs per version (effective priority weights, leaves for the run
//! state, downstream lists for fast-follow) is computed here, so that the hot path
//! only looks things up.

use std::collections::HashMap;

use crate::model::{Dag, WeightRule};

/// Tasks as indices, with upstream and downstream adjacency.
#[derive(Debug, Clone)]
pub struct DagGraph {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    upstream: Vec<Vec<usize>>,
    downstream: Vec<Vec<usize>>,
}

/// An upstream reference to a task that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownUpstream {
    pub task_id: String,
    pub upstream: String,
}

impl DagGraph {
    /// Builds the graph from `(task_id, upstream ids)` pairs in declaration order.
    pub fn new<'a, I, U>(tasks: I) -> Result<DagGraph, UnknownUpstream>
    where
        I: IntoIterator<Item = (&'a str, U)>,
        U: IntoIterator<Item = &'a str>,
    {
        let tasks: Vec<(&str, Vec<&str>)> = tasks
            .into_iter()
            .map(|(id, up)| (id, up.into_iter().collect()))
            .collect();
        let ids: Vec<String> = tasks.iter().map(|(id, _)| id.to_string()).collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let mut upstream = vec![Vec::new(); ids.len()];
        let mut downstream = vec![Vec::new(); ids.len()];
        for (i, (id, ups)) in tasks.iter().enumerate() {
            for up in ups {
                let u = *index.get(*up).ok_or_else(|| UnknownUpstream {
                    task_id: id.to_string(),
                    upstream: up.to_string(),
                })?;
                if !upstream[i].contains(&u) {
                    upstream[i].push(u);
                    downstream[u].push(i);
                }
            }
        }
        Ok(DagGraph {
            ids,
            index,
            upstream,
            downstream,
        })
    }

    /// The graph of a parsed DAG (whose upstream references were checked when loading).
    pub fn of(dag: &Dag) -> Result<DagGraph, UnknownUpstream> {
        DagGraph::new(
            dag.tasks
                .iter()
                .map(|t| (t.task_id.as_str(), t.upstream.iter().map(String::as_str))),
        )
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn upstream_of(&self, i: usize) -> &[usize] {
        &self.upstream[i]
    }

    pub fn downstream_of(&self, i: usize) -> &[usize] {
        &self.downstream[i]
    }

    /// Tasks with nothing downstream: they decide a run's state.
    pub fn leaves(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.downstream[i].is_empty())
            .collect()
    }

    /// Tasks with nothing upstream.
    pub fn roots(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.upstream[i].is_empty())
            .collect()
    }

    /// A cycle as a path of task ids that starts and ends at the same task
    /// (`a -> b -> c -> a`), or `None` if the graph is acyclic.
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; self.len()];
        for start in 0..self.len() {
            if mark[start] != Mark::New {
                continue;
            }
            // Iterative DFS along downstream edges: (node, next child to visit).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            mark[start] = Mark::OnPath;
            while let Some(&mut (node, ref mut child)) = stack.last_mut() {
                if let Some(&next) = self.downstream[node].get(*child) {
                    *child += 1;
                    match mark[next] {
                        Mark::New => {
                            mark[next] = Mark::OnPath;
                            stack.push((next, 0));
                        }
                        Mark::OnPath => {
                            let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                            let mut path: Vec<String> = stack[from..]
                                .iter()
                                .map(|(n, _)| self.ids[*n].clone())
                                .collect();
                            path.push(self.ids[next].clone());
                            return Some(path);
                        }
                        Mark::Done => {}
                    }
                } else {
                    mark[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
        None
    }

    /// Task indices so that every task comes after its upstream tasks; among tasks
    /// that are free at the same time, declaration order. `None` if there is a cycle.
    pub fn topological_order(&self) -> Option<Vec<usize>> {
        let mut pending: Vec<usize> = self.upstream.iter().map(Vec::len).collect();
        let mut ready: std::collections::BTreeSet<usize> =
            (0..self.len()).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &d in &self.downstream[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        (order.len() == self.len()).then_some(order)
    }

    /// Every task reachable from `i` by following edges one way (not `i` itself).
    fn relatives(&self, i: usize, downward: bool, seen: &mut [bool], out: &mut Vec<usize>) {
        out.clear();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            let next = if downward {
                &self.downstream[n]
            } else {
                &self.upstream[n]
            };
            for &m in next {
                if !seen[m] {
                    seen[m] = true;
                    out.push(m);
                    stack.push(m);
                }
            }
        }
        for &m in out.iter() {
            seen[m] = false;
        }
    }

    /// Effective priority weights (Airflow's `weight_rule`): a task's own weight plus
    /// the weights of every distinct task downstream (or upstream) of it, each counted
    /// once, clamped to the 32-bit range as Airflow's database does.
    pub fn priority_weights(&self, own: &[i32], rules: &[WeightRule]) -> Vec<i32> {
        let mut seen = vec![false; self.len()];
        let mut buf = Vec::new();
        (0..self.len())
            .map(|i| {
                let total: i64 = match rules.get(i).copied().unwrap_or(WeightRule::Downstream) {
                    WeightRule::Absolute => i64::from(own[i]),
                    rule => {
                        self.relatives(i, rule == WeightRule::Downstream, &mut seen, &mut buf);
                        i64::from(own[i]) + buf.iter().map(|&r| i64::from(own[r])).sum::<i64>()
                    }
                };
                total.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
            })
            .collect()
    }

    /// Priority weights of a parsed DAG, by task index.
    pub fn dag_priority_weights(&self, dag: &Dag) -> Vec<i32> {
        let own: Vec<i32> = dag.tasks.iter().map(|t| t.priority_weight).collect();
        let rules: Vec<WeightRule> = dag.tasks.iter().map(|t| t.weight_rule).collect();
        self.priority_weights(&own, &rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&'static str, &[&'static str])]) -> DagGraph {
        DagGraph::new(edges.iter().map(|(id, up)| (*id, up.iter().copied()))).expect("valid")
    }

    #[test]
    fn cycles_are_reported_as_paths() {
        let g = graph(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &[])]);
        let cycle = g.find_cycle().expect("cycle");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        for id in ["a", "b", "c"] {
            assert!(cycle.contains(&id.to_string()));
        }
        assert!(g.topological_order().is_none());
        let self_loop = graph(&[("a", &["a"])]);
        assert_eq!(
            self_loop.find_cycle(),
            Some(vec!["a".to_string(), "a".to_string()])
        );
    }

    #[test]
    fn acyclic_graphs_sort() {
        let g = graph(&[
            ("load", &["transform"]),
            ("extract", &[]),
            ("transform", &["extract"]),
        ]);
        assert_eq!(g.find_cycle(), None);
        let order: Vec<&str> = g
            .topological_order()
            .expect("order")
            .into_iter()
            .map(|i| g.id(i))
            .collect();
        assert_eq!(order, ["extract", "transform", "load"]);
        assert_eq!(
            g.leaves().into_iter().map(|i| g.id(i)).collect::<Vec<_>>(),
            ["load"]
        );
        assert_eq!(
            g.roots().into_iter().map(|i| g.id(i)).collect::<Vec<_>>(),
            ["extract"]
        );
    }

    #[test]
    fn unknown_upstream_is_an_error() {
        let err = DagGraph::new([("a", vec!["nope"])]).expect_err("unknown");
        assert_eq!(err.upstream, "nope");
    }

    #[test]
    fn priority_weights_count_each_relative_once() {
        // Diamond: a -> b, a -> c, b -> d, c -> d. d is reachable twice from a.
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        let own = [1, 1, 1, 1];
        let down = g.priority_weights(&own, &[WeightRule::Downstream; 4]);
        assert_eq!(down, vec![4, 2, 2, 1]);
        let up = g.priority_weights(&own, &[WeightRule::Upstream; 4]);
        assert_eq!(up, vec![1, 2, 2, 4]);
        let abs = g.priority_weights(&[5, 1, 1, 1], &[WeightRule::Absolute; 4]);
        assert_eq!(abs, vec![5, 1, 1, 1]);
        let huge = g.priority_weights(&[i32::MAX, i32::MAX, 1, 1], &[WeightRule::Downstream; 4]);
        assert_eq!(huge[0], i32::MAX);
    }
}
