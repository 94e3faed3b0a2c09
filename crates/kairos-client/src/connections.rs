//! Connections: where task code reaches outside systems
//! (`BaseHook.get_connection`). `team` names whose, as for Variables.

use kairos_api::{Connection, ConnectionBody, ConnectionList};
use reqwest::Method;

use crate::error::Error;
use crate::path::encode;
use crate::transport::{Client, Read};
use crate::variables::team_query;

impl Client {
    /// Every connection (passwords never come back), in id order.
    pub async fn connections(&self, team: Option<&str>) -> Result<Vec<Connection>, Error> {
        self.all::<ConnectionList>(&format!("/connections{}", team_query(team)), Read::Local)
            .await
    }

    pub async fn connection(&self, conn_id: &str, team: Option<&str>) -> Result<Connection, Error> {
        self.get(&format!(
            "/connections/{}{}",
            encode(conn_id),
            team_query(team)
        ))
        .await
    }

    /// Creates (or replaces) a connection; `body.connection_id` names it.
    pub async fn add_connection(
        &self,
        team: Option<&str>,
        body: &ConnectionBody,
    ) -> Result<Connection, Error> {
        self.request(
            Method::POST,
            &format!("/connections{}", team_query(team)),
            Some(body),
        )
        .await
    }

    pub async fn delete_connection(&self, conn_id: &str, team: Option<&str>) -> Result<(), Error> {
        self.send_only(
            Method::DELETE,
            &format!("/connections/{}{}", encode(conn_id), team_query(team)),
            None::<&()>,
        )
        .await
    }
}
