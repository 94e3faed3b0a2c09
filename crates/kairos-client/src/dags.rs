//! DAGs: list, read, pause and unpause, delete.

use kairos_api::{Dag, DagList, DagPatch};
use reqwest::Method;

use crate::error::Error;
use crate::path;
use crate::query::query;
use crate::transport::{Client, Read, with_query};

impl Client {
    /// Every DAG of the cluster, in id order.
    pub async fn dags(&self) -> Result<Vec<Dag>, Error> {
        self.all::<DagList>("/dags", Read::Local).await
    }

    pub async fn dag(&self, dag_id: &str, read: Read) -> Result<Dag, Error> {
        let params = query(&read.options())?;
        self.get(&with_query(&path::dag(dag_id), &[&params])).await
    }

    /// Pauses (no new runs, no new tasks) or unpauses a DAG; the DAG after it.
    pub async fn set_paused(&self, dag_id: &str, is_paused: bool) -> Result<Dag, Error> {
        self.request(
            Method::PATCH,
            &path::dag(dag_id),
            Some(&DagPatch { is_paused }),
        )
        .await
    }

    /// Deletes a DAG with everything it owns (refused, 409, while a task
    /// instance of it runs); answers when it is gone.
    pub async fn delete_dag(&self, dag_id: &str) -> Result<(), Error> {
        self.send_only(Method::DELETE, &path::dag(dag_id), None::<&()>)
            .await
    }
}
