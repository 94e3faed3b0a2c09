//! The cluster: a node's health, the membership, and changing it.

use kairos_api::{ClusterView, InitCluster, MembershipChange, NewMember, NodeHealth};
use reqwest::Method;

use crate::error::Error;
use crate::path::encode;
use crate::transport::Client;

impl Client {
    /// The answering node's own view (role, term, leader, log positions); needs
    /// no token.
    pub async fn health(&self) -> Result<NodeHealth, Error> {
        self.get("/health").await
    }

    /// Every member, each with its own view or why there is none.
    pub async fn cluster(&self) -> Result<ClusterView, Error> {
        self.get("/cluster").await
    }

    /// Initializes a new cluster with these voters (the answering node alone
    /// when there are none); that node's view after it.
    pub async fn init_cluster(&self, init: &InitCluster) -> Result<NodeHealth, Error> {
        self.request(Method::POST, "/cluster/init", Some(init))
            .await
    }

    /// Adds a node, as a learner first and a voter once it has caught up.
    pub async fn add_node(&self, member: &NewMember) -> Result<MembershipChange, Error> {
        self.request(Method::POST, "/cluster/nodes", Some(member))
            .await
    }

    /// Deletes old ended runs with everything derived from them (retention):
    /// one request, which purges for up to 10 s (`more` says runs remain).
    pub async fn purge(
        &self,
        request: &kairos_api::PurgeRequest,
    ) -> Result<kairos_api::PurgeResult, Error> {
        self.request(Method::POST, "/cluster/purge", Some(request))
            .await
    }

    /// [`Client::purge`] asked again until nothing remains, with the cutoff
    /// the first answer gave (an age is turned into a time once); the totals
    /// (`kairos db clean`).
    pub async fn purge_all(
        &self,
        request: &kairos_api::PurgeRequest,
    ) -> Result<kairos_api::PurgeResult, Error> {
        let mut total = self.purge(request).await?;
        let mut again = kairos_api::PurgeRequest {
            before: total.before,
            older_than_days: None,
            ..request.clone()
        };
        if again.before.is_none() {
            again.older_than_days = request.older_than_days;
        }
        while total.more {
            let next = self.purge(&again).await?;
            total.runs += next.runs;
            total.task_instances += next.task_instances;
            total.xcoms += next.xcoms;
            total.commands += next.commands;
            total.more = next.more;
        }
        Ok(total)
    }

    /// The answering node's whole state, as a snapshot file (cluster-wide
    /// admin): what `kairos snapshot restore` makes a node from. Written to
    /// `out` as it arrives (never whole in memory); answers the bytes written.
    pub async fn snapshot_to(&self, out: &mut impl std::io::Write) -> Result<u64, Error> {
        let mut response = self.send(&Method::GET, "/cluster/snapshot", None).await?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| Error::Body(e.to_string()))?;
            let text = String::from_utf8_lossy(&bytes);
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.into_owned());
            return Err(Error::Api {
                status: status.as_u16(),
                detail,
            });
        }
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Error::Body(e.to_string()))?
        {
            out.write_all(&chunk)
                .map_err(|e| Error::Body(format!("cannot write the snapshot: {e}")))?;
            written += chunk.len() as u64;
        }
        Ok(written)
    }

    pub async fn remove_node(&self, node_id: u64) -> Result<MembershipChange, Error> {
        let path = format!("/cluster/nodes/{}", encode(&node_id.to_string()));
        self.request(Method::DELETE, &path, None::<&()>).await
    }
}
