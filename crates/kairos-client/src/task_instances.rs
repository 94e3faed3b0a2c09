//! Task instances: a run's list, one instance, its tries, why it waits, marking
//! and clearing, and its XComs.

use kairos_api::{Explanation, TaskInstance, TaskInstanceList, TaskTryList};
use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Error;
use crate::path;
use crate::transport::{Client, Read, with_query};

impl Client {
    /// Every task instance of a run, in task id, then map index order.
    pub async fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
        read: Read,
    ) -> Result<Vec<TaskInstance>, Error> {
        let params = read.param().into_iter().collect::<Vec<_>>();
        let list = with_query(
            &format!("{}/taskInstances", path::run(dag_id, run_id)),
            &params,
        );
        self.all::<TaskInstanceList>(&list).await
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
        let map = map_index.map(|m| format!("map_index={m}"));
        let params: Vec<&str> = [map.as_deref(), read.param()]
            .into_iter()
            .flatten()
            .collect();
        self.get(&with_query(
            &path::task_instance(dag_id, run_id, task_id),
            &params,
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
        let map = map_index.map(|m| format!("map_index={m}"));
        let params: Vec<&str> = map.as_deref().into_iter().collect();
        let tries = format!("{}/tries", path::task_instance(dag_id, run_id, task_id));
        self.get(&with_query(&tries, &params)).await
    }

    /// Marks a task instance success, failed or skipped; the instance after it.
    pub async fn mark_task_instance(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        new_state: &str,
    ) -> Result<TaskInstance, Error> {
        self.request(
            Method::PATCH,
            &path::task_instance(dag_id, run_id, task_id),
            Some(&json!({ "new_state": new_state })),
        )
        .await
    }

    /// Clears task instances so they run again: `body` is the clear request
    /// (`dag_run_id`, `task_ids`, `include_downstream`, ...). Untyped until its
    /// wire type moves into `kairos-api`.
    pub async fn clear_task_instances(&self, dag_id: &str, body: &Value) -> Result<Value, Error> {
        self.request(
            Method::POST,
            &format!("{}/clearTaskInstances", path::dag(dag_id)),
            Some(body),
        )
        .await
    }

    /// A task instance's XComs (`xcom_entries`). Untyped until its wire type moves
    /// into `kairos-api`.
    pub async fn xcom_entries(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        read: Read,
    ) -> Result<Value, Error> {
        let params = read.param().into_iter().collect::<Vec<_>>();
        let xcoms = format!(
            "{}/xcomEntries",
            path::task_instance(dag_id, run_id, task_id)
        );
        self.get(&with_query(&xcoms, &params)).await
    }
}
