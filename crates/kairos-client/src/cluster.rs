//! The cluster: a node's health, the membership, and changing it. Untyped until
//! their wire types move into `kairos-api`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Error;
use crate::path::encode;
use crate::transport::Client;

impl Client {
    /// The answering node's own view (`node_id`, `role`, `term`, `leader_id`, ...);
    /// needs no token.
    pub async fn health(&self) -> Result<Value, Error> {
        self.get("/health").await
    }

    /// Every member, each with its own view or why there is none.
    pub async fn cluster(&self) -> Result<Value, Error> {
        self.get("/cluster").await
    }

    /// Initializes a new cluster with these voters (`(node id, gRPC address)`).
    pub async fn init_cluster(&self, members: &[(u64, String)]) -> Result<Value, Error> {
        let members: Vec<Value> = members
            .iter()
            .map(|(node_id, grpc_addr)| json!({"node_id": node_id, "grpc_addr": grpc_addr}))
            .collect();
        self.request(
            Method::POST,
            "/cluster/init",
            Some(&json!({ "members": members })),
        )
        .await
    }

    /// Adds a node, as a learner first and a voter once it has caught up.
    pub async fn add_node(
        &self,
        node_id: u64,
        grpc_addr: &str,
        http_addr: &str,
    ) -> Result<Value, Error> {
        let body = json!({"node_id": node_id, "grpc_addr": grpc_addr, "http_addr": http_addr});
        self.request(Method::POST, "/cluster/nodes", Some(&body))
            .await
    }

    pub async fn remove_node(&self, node_id: u64) -> Result<Value, Error> {
        let path = format!("/cluster/nodes/{}", encode(&node_id.to_string()));
        self.request(Method::DELETE, &path, None::<&()>).await
    }
}
