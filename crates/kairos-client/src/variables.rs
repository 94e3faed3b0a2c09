//! Variables: values tasks read with `var.value.KEY`. `team` names whose: a
//! team's token always means its own team; a cluster-wide token a team, or
//! `None` for the cluster-wide Variables.

use kairos_api::{Variable, VariableBody, VariableList};
use reqwest::Method;

use crate::error::Error;
use crate::path::encode;
use crate::transport::{Client, Read};

/// `?team=T`, or nothing.
pub(crate) fn team_query(team: Option<&str>) -> String {
    match team {
        Some(team) => format!("?team={}", encode(team)),
        None => String::new(),
    }
}

impl Client {
    /// Every Variable with its value, in key order.
    pub async fn variables(&self, team: Option<&str>) -> Result<Vec<Variable>, Error> {
        self.all::<VariableList>(&format!("/variables{}", team_query(team)), Read::Local)
            .await
    }

    pub async fn variable(&self, key: &str, team: Option<&str>) -> Result<Variable, Error> {
        self.get(&format!("/variables/{}{}", encode(key), team_query(team)))
            .await
    }

    /// Creates or changes a Variable; the Variable after it.
    pub async fn set_variable(
        &self,
        key: &str,
        team: Option<&str>,
        variable: &VariableBody,
    ) -> Result<Variable, Error> {
        self.request(
            Method::PUT,
            &format!("/variables/{}{}", encode(key), team_query(team)),
            Some(variable),
        )
        .await
    }

    pub async fn delete_variable(&self, key: &str, team: Option<&str>) -> Result<(), Error> {
        self.send_only(
            Method::DELETE,
            &format!("/variables/{}{}", encode(key), team_query(team)),
            None::<&()>,
        )
        .await
    }
}
