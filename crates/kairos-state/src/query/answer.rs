//! Answers a [`Query`] as JSON, for callers in other processes. An answer that
//! cannot be encoded is an error, never `null` (which reads as "not found").

use serde_json::Value;

use super::wire::{Query, page};
use crate::store::{Store, StoreError};

/// A typed answer as JSON.
fn to_json<T: serde::Serialize>(answer: &T) -> Result<Value, StoreError> {
    serde_json::to_value(answer).map_err(|e| StoreError::Encode(e.to_string()))
}

impl Store {
    /// Answers a [`Query`] as JSON (`null` when the thing asked for does not exist).
    pub fn query(&self, query: &Query) -> Result<Value, StoreError> {
        match query {
            Query::Dags {
                after,
                limit,
                filter,
            } => to_json(&self.dags(after.as_deref(), *limit, filter)?),
            Query::Dag { dag_id } => to_json(&self.dag(dag_id)?),
            Query::Versions {
                dag_id,
                after,
                limit,
            } => to_json(&self.versions_page(
                dag_id,
                *after,
                limit.map_or(usize::MAX, |l| page(Some(l))),
            )?),
            Query::Version { dag_id, version } => {
                to_json(&self.version_record(dag_id, *version)?.map(|v| (*v).clone()))
            }
            Query::File { hash } => to_json(&self.file(hash)?),
            Query::Runs {
                dag_id,
                state,
                after,
                limit,
                order,
            } => to_json(&self.runs_ordered(dag_id, *state, after.as_deref(), *limit, *order)?),
            Query::Run { dag_id, run_id } => to_json(&self.run(dag_id, run_id)?),
            Query::TaskInstances {
                dag_id,
                run_id,
                after,
                limit,
            } => to_json(&self.task_instances_page(
                dag_id,
                run_id,
                after.as_ref().map(|(t, m)| (t.as_str(), *m)),
                limit.map_or(usize::MAX, |l| page(Some(l))),
            )?),
            Query::XComs {
                dag_id,
                run_id,
                task_id,
            } => to_json(&self.xcoms(dag_id, run_id, task_id.as_deref())?),
            Query::Pools => to_json(&self.pools()?),
            Query::Tries { ti } => to_json(&self.tries(ti)?),
            Query::TaskInstance { ti } => to_json(&self.task_instance(ti)?),
            Query::Variable { key } => to_json(&self.variable(key)?),
            Query::Variables { after, limit } => {
                to_json(&self.variables(after.as_deref(), *limit)?)
            }
            Query::Settings => to_json(&self.settings()?),
            Query::Digest => to_json(&self.digest()?),
            Query::AppliedIndex => to_json(&self.applied_index()?),
            Query::Explain { ti } => to_json(&self.explain(ti)?),
            // Workers live in the leader's memory: the state has none to list.
            Query::Workers => Ok(serde_json::Value::Array(Vec::new())),
            Query::Bundles { after, limit } => to_json(&self.bundles(after.as_deref(), *limit)?),
            Query::Bundle { name } => to_json(&self.bundle(name)?),
            Query::BundleVersions { name, after, limit } => {
                to_json(&self.bundle_versions(name, *after, *limit)?)
            }
            Query::BundleVersion { name, version } => {
                to_json(&self.bundle_version(name, *version)?)
            }
            Query::MissingFiles { hashes } => to_json(&self.missing_files(hashes)?),
        }
    }
}
