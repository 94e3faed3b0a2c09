//! Task instances: a run's list, one instance, its tries, why it waits, marking
//! and clearing, and its XComs.

use kairos_api::{
    ClearRequest, ClearResponse, Explanation, MarkRequest, TaskInstance, TaskInstanceList,
    TaskInstanceQuery, TaskTryList, XComEntry, XComList,
};
use reqwest::Method;

use crate::error::Error;
use crate::path;
use crate::query::query;
use crate::transport::{Client, Read, with_query};

impl Client {
    /// Every task instance of a run, in task id, then map index order.
    pub async fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
        read: Read,
    ) -> Result<Vec<TaskInstance>, Error> {
        let list = format!("{}/taskInstances", path::run(dag_id, run_id));
        self.all::<TaskInstanceList>(&list, read).await
    }

    /// One task instance (`map_index` -1, or `None`, for an unmapped task).
    pub async fn task_instance(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: Option<i32>,
        read: Read,
    ) -> Result<TaskInstance, Error> {
        let params = query(&TaskInstanceQuery {
            map_index,
            consistent: read == Read::Consistent,
        })?;
        self.get(&with_query(
            &path::task_instance(dag_id, run_id, task_id),
            &[&params],
        ))
        .await
    }

    /// Why a task instance is not running.
    pub async fn explain(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
    ) -> Result<Explanation, Error> {
        self.get(&format!(
            "{}/explain",
            path::task_instance(dag_id, run_id, task_id)
        ))
        .await
    }

    /// The ended tries of a task instance (Airflow's task instance history).
    pub async fn tries(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: Option<i32>,
    ) -> Result<TaskTryList, Error> {
        let params = query(&TaskInstanceQuery {
            map_index,
            consistent: false,
        })?;
        let tries = format!("{}/tries", path::task_instance(dag_id, run_id, task_id));
        self.get(&with_query(&tries, &[&params])).await
    }

    /// Marks a task instance success, failed or skipped; the instance after it.
    pub async fn mark_task_instance(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        new_state: &str,
    ) -> Result<TaskInstance, Error> {
        let mark = MarkRequest {
            new_state: new_state.to_string(),
            dry_run: false,
            note: None,
        };
        self.request(
            Method::PATCH,
            &path::task_instance(dag_id, run_id, task_id),
            Some(&mark),
        )
        .await
    }

    /// Clears task instances of a run so they run again (or, on a dry run, says
    /// which it would clear).
    pub async fn clear_task_instances(
        &self,
        dag_id: &str,
        clear: &ClearRequest,
    ) -> Result<ClearResponse, Error> {
        self.request(
            Method::POST,
            &format!("{}/clearTaskInstances", path::dag(dag_id)),
            Some(clear),
        )
        .await
    }

    /// A task's XComs: of every instance of a mapped task, as the server lists
    /// them without `map_index`.
    pub async fn xcom_entries(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        read: Read,
    ) -> Result<Vec<XComEntry>, Error> {
        let params = query(&read.options())?;
        let xcoms = format!(
            "{}/xcomEntries",
            path::task_instance(dag_id, run_id, task_id)
        );
        let list: XComList = self.get(&with_query(&xcoms, &[&params])).await?;
        Ok(list.xcom_entries)
    }
}
