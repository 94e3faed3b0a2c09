//! What the scheduler needs of a DAG version, computed once per version: the task
//! graph, a topological position per task (so a worklist settles upstream first),
//! effective priority weights and the leaves that decide a run's state.

use std::collections::HashMap;
use std::sync::Arc;

use kairos_dag::graph::DagGraph;
use kairos_dag::model::{Dag, Task};

use crate::records::VersionRecord;

pub(crate) struct Plan {
    pub version: Arc<VersionRecord>,
    /// `None` only for a version whose graph cannot be built (never accepted by the
    /// loader; kept total rather than panicking on a damaged record).
    graph: Option<DagGraph>,
    /// Position of each task (by index) in a topological order.
    pub topo: Vec<usize>,
    pub weights: Vec<i32>,
    index: HashMap<String, usize>,
}

impl Plan {
    pub fn of(version: Arc<VersionRecord>) -> Plan {
        let dag = &version.content.dag;
        let graph = DagGraph::of(dag).ok();
        let n = dag.tasks.len();
        let mut topo = (0..n).collect::<Vec<usize>>();
        let mut weights = dag.tasks.iter().map(|t| t.priority_weight).collect();
        if let Some(graph) = &graph {
            if let Some(order) = graph.topological_order() {
                for (position, &task) in order.iter().enumerate() {
                    topo[task] = position;
                }
            }
            weights = graph.dag_priority_weights(dag);
        }
        let index = dag
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.task_id.clone(), i))
            .collect();
        Plan {
            version,
            graph,
            topo,
            weights,
            index,
        }
    }

    pub fn dag(&self) -> &Dag {
        &self.version.content.dag
    }

    pub fn task(&self, i: usize) -> &Task {
        &self.dag().tasks[i]
    }

    pub fn index_of(&self, task_id: &str) -> Option<usize> {
        self.index.get(task_id).copied()
    }

    pub fn len(&self) -> usize {
        self.dag().tasks.len()
    }

    pub fn upstream(&self, i: usize) -> &[usize] {
        self.graph.as_ref().map_or(&[], |g| g.upstream_of(i))
    }

    pub fn downstream(&self, i: usize) -> &[usize] {
        self.graph.as_ref().map_or(&[], |g| g.downstream_of(i))
    }

    pub fn is_leaf(&self, i: usize) -> bool {
        self.downstream(i).is_empty()
    }

    /// Every task downstream of `i`, transitively.
    pub fn all_downstream(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack = self.downstream(i).to_vec();
        let mut out = Vec::new();
        while let Some(d) = stack.pop() {
            if !seen[d] {
                seen[d] = true;
                out.push(d);
                stack.extend_from_slice(self.downstream(d));
            }
        }
        out
    }
}
