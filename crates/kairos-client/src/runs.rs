//! DAG runs: list, read, trigger, mark and delete.

use kairos_api::{DagRun, DagRunList, DagRunPatch, MarkRunState, Page, RunOrderParam, TriggerRun};
use reqwest::Method;

use crate::error::Error;
use crate::path;
use crate::query::query;
use crate::transport::{Client, Read, with_query};

/// One page of a DAG's runs.
#[derive(Debug, Clone, Default)]
pub struct RunsQuery {
    /// `run_id` (the server's default), `logical_date` or `-logical_date`.
    pub order_by: Option<String>,
    /// At most this many (the server's default is 100).
    pub limit: Option<usize>,
    /// Start after this run (the previous page's `next`).
    pub after: Option<String>,
    pub read: Read,
}

impl Client {
    /// Every run of a DAG, in run id order.
    pub async fn dag_runs(&self, dag_id: &str, read: Read) -> Result<Vec<DagRun>, Error> {
        let list = format!("{}/dagRuns", path::dag(dag_id));
        self.all::<DagRunList>(&list, read).await
    }

    /// One page of a DAG's runs.
    pub async fn dag_runs_page(&self, dag_id: &str, runs: &RunsQuery) -> Result<DagRunList, Error> {
        let order = query(&RunOrderParam {
            order_by: runs.order_by.clone(),
        })?;
        let page = query(&Page {
            limit: runs.limit,
            after: runs.after.clone(),
            consistent: runs.read == Read::Consistent,
            offset: None,
        })?;
        let list = format!("{}/dagRuns", path::dag(dag_id));
        self.get(&with_query(&list, &[&order, &page])).await
    }

    pub async fn dag_run(&self, dag_id: &str, run_id: &str, read: Read) -> Result<DagRun, Error> {
        let params = query(&read.options())?;
        self.get(&with_query(&path::run(dag_id, run_id), &[&params]))
            .await
    }

    /// Triggers a manual run of the DAG's newest version; the run created.
    pub async fn trigger(&self, dag_id: &str, run: &TriggerRun) -> Result<DagRun, Error> {
        self.request(
            Method::POST,
            &format!("{}/dagRuns", path::dag(dag_id)),
            Some(run),
        )
        .await
    }

    /// Marks a run success or failed, with its task instances; the run after it.
    pub async fn mark_run(
        &self,
        dag_id: &str,
        run_id: &str,
        state: MarkRunState,
    ) -> Result<DagRun, Error> {
        self.request(
            Method::PATCH,
            &path::run(dag_id, run_id),
            Some(&DagRunPatch { state }),
        )
        .await
    }

    /// Deletes a run with its task instances and XComs.
    pub async fn delete_run(&self, dag_id: &str, run_id: &str) -> Result<(), Error> {
        self.send_only(Method::DELETE, &path::run(dag_id, run_id), None::<&()>)
            .await
    }
}
