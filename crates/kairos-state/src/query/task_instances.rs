//! Reads about task instances: one, a run's (paged), their XComs and ended tries.

use kairos_dag::identity::TaskInstanceKey;

use crate::keys::{self, Cf, index};
use crate::records::{TaskInstanceRecord, TryRecord, XComRecord};
use crate::store::{Store, StoreError};

impl Store {
    /// One task instance.
    pub fn task_instance(
        &self,
        ti: &TaskInstanceKey,
    ) -> Result<Option<TaskInstanceRecord>, StoreError> {
        self.get(Cf::TaskInstances, &keys::ti(ti))
    }

    /// A run's task instances in task-id, then map-index order.
    pub fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        self.task_instances_page(dag_id, run_id, None, usize::MAX)
    }

    /// At most `limit` task instances of a run after (task id, map index) `after`.
    pub fn task_instances_page(
        &self,
        dag_id: &str,
        run_id: &str,
        after: Option<(&str, i32)>,
        limit: usize,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        let after = after.map(|(task, map)| keys::task_instance(dag_id, run_id, task, map));
        Ok(self
            .scan::<TaskInstanceRecord>(
                Cf::TaskInstances,
                &keys::run_prefix(dag_id, run_id),
                after.as_deref(),
                limit,
            )?
            .into_iter()
            .map(|(_, ti)| ti)
            .collect())
    }

    /// A run's XComs, or one task's (every map index).
    pub fn xcoms(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: Option<&str>,
    ) -> Result<Vec<XComRecord>, StoreError> {
        let prefix = match task_id {
            Some(task_id) => keys::task_prefix(dag_id, run_id, task_id),
            None => keys::run_prefix(dag_id, run_id),
        };
        Ok(self
            .scan::<XComRecord>(Cf::XComs, &prefix, None, usize::MAX)?
            .into_iter()
            .map(|(_, x)| x)
            .collect())
    }

    pub fn tries(&self, ti: &TaskInstanceKey) -> Result<Vec<TryRecord>, StoreError> {
        Ok(self
            .scan::<TryRecord>(Cf::Index, &index::tries_prefix(ti), None, usize::MAX)?
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }
}
