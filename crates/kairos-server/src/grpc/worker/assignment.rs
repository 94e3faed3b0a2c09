//! Everything a worker needs to run an attempt, built from the state: the task as
//! its run's version defines it, the run's facts, the DAG's own settings (without
//! its tasks, cached per version: versions never change) and the files' hashes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kairos_proto::v1::Assignment;
use kairos_state::TaskInstanceKey;

use crate::node::{Node, NodeError};

/// How many versions' DAG settings the cache keeps before it starts over.
const SHELL_CACHE_LIMIT: usize = 4096;

#[derive(Default)]
pub(super) struct Assignments {
    /// Each version's DAG without its tasks, as JSON.
    dag_shells: Mutex<HashMap<(String, u32), Arc<str>>>,
}

impl Assignments {
    /// The assignment of `attempt` of `ti`, or `None` when the task instance, its
    /// run or its task no longer exists (the attempt is then not handed out).
    pub(super) fn build(
        &self,
        node: &Node,
        ti: &TaskInstanceKey,
        attempt: &str,
    ) -> Result<Option<Assignment>, NodeError> {
        let found = node.read_now(|store| {
            let Some(record) = store.task_instance(ti)? else {
                return Ok(None);
            };
            let Some(run) = store.run(&ti.dag_id, &ti.run_id)? else {
                return Ok(None);
            };
            let version_task = store.version_task(&ti.dag_id, run.version, &ti.task_id)?;
            Ok(version_task.map(|(version, task)| (record, run, version, task)))
        })?;
        let Some((record, run, version, task)) = found else {
            return Ok(None);
        };
        let encode = |what: &str, e: serde_json::Error| {
            NodeError::Internal(format!("the assignment's {what} cannot be encoded: {e}"))
        };
        Ok(Some(Assignment {
            ti: Some(ti.into()),
            attempt: attempt.to_string(),
            try_number: record.try_number,
            version: run.version,
            task_json: serde_json::to_string(&task).map_err(|e| encode("task", e))?,
            run_json: serde_json::to_string(&run.facts()).map_err(|e| encode("run", e))?,
            files: version.content.files.clone().into_iter().collect(),
            dag_json: self
                .dag_shell(&version.content.dag, run.version)
                .map_err(|e| encode("DAG", e))?
                .to_string(),
            map_element_json: match &record.map_element {
                Some(element) => {
                    serde_json::to_string(element).map_err(|e| encode("mapped arguments", e))?
                }
                None => String::new(),
            },
            bundle_version: run.bundle_version.unwrap_or(0),
            first_poke_at_ms: record.first_poke_at.map_or(0, |at| at.timestamp_millis()),
            retried_on_failure: record.retried_on_failure(task.retries),
        }))
    }

    /// The DAG of `version` with its task list emptied, as JSON.
    fn dag_shell(
        &self,
        dag: &kairos_dag::model::Dag,
        version: u32,
    ) -> Result<Arc<str>, serde_json::Error> {
        let key = (dag.dag_id.clone(), version);
        let mut cache = self
            .dag_shells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(json) = cache.get(&key) {
            return Ok(json.clone());
        }
        let mut value = serde_json::to_value(dag)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("tasks".into(), serde_json::Value::Array(Vec::new()));
        }
        let json: Arc<str> = Arc::from(value.to_string());
        if cache.len() > SHELL_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, json.clone());
        Ok(json)
    }
}
