//! Who may call which gRPC service of a server, decided from the certificate
//! the caller presented (mutual TLS). The rule, in one place:
//!
//! | service  | server cert | worker cert | client cert |
//! |----------|-------------|-------------|-------------|
//! | Raft     | yes         | no          | no          |
//! | Cluster  | yes         | no          | yes         |
//! | Worker   | no          | yes (as itself, see `worker::caller`) | no |
//!
//! Always of this server's own cluster (the cluster id its own certificate
//! names). Raft's RPCs (vote, append, snapshot) are for servers alone. The
//! Cluster service is how servers forward writes and membership changes to the
//! leader and how tools (the test harness, the benchmark, scripts) administer
//! the cluster; a client certificate is an administrator's, as in etcd without
//! RBAC. Over `--insecure` plain text there is no certificate and no check.

use kairos_tls::{Identity, Role, Tls};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Status};

/// Wraps `service` so that only callers whose certificate has one of `roles`
/// in `tls`'s cluster reach it (everyone when `tls` is `None`).
pub fn only<S>(
    service: S,
    tls: Option<Tls>,
    service_name: &'static str,
    roles: &'static [Role],
) -> InterceptedService<S, impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone> {
    InterceptedService::new(service, move |request: Request<()>| {
        if let Some(tls) = &tls {
            check(tls, service_name, roles, &request)?;
        }
        Ok(request)
    })
}

/// The Raft service: servers only.
pub const RAFT: &[Role] = &[Role::Server];
/// The Cluster service: servers (forwarding) and clients (administration).
pub const CLUSTER: &[Role] = &[Role::Server, Role::Client];
/// The Worker service: workers only.
pub const WORKER: &[Role] = &[Role::Worker];

fn check<T>(tls: &Tls, service: &str, roles: &[Role], request: &Request<T>) -> Result<(), Status> {
    let peer = request
        .remote_addr()
        .map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
    let Some(caller) = kairos_tls::grpc::peer_identity(request) else {
        // The TLS listener accepts no connection without a certificate, so this
        // is a bug or a plain connection that should not exist: refuse.
        tracing::warn!(%peer, service, "refused a call that came with no certificate");
        return Err(Status::unauthenticated(format!(
            "the {service} service requires a client certificate of this cluster"
        )));
    };
    allowed(&tls.identity(), service, roles, &caller).inspect_err(|e| {
        tracing::warn!(%peer, %caller, service, "refused: {}", e.message());
    })
}

/// Whether `caller` may call `service` (open to `roles`) of the server `me`.
pub(crate) fn allowed(
    me: &Identity,
    service: &str,
    roles: &[Role],
    caller: &Identity,
) -> Result<(), Status> {
    if caller.cluster != me.cluster {
        return Err(Status::permission_denied(format!(
            "{caller} is of cluster {}, this server of cluster {}",
            caller.cluster, me.cluster
        )));
    }
    if !roles.contains(&caller.role) {
        let may: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(Status::permission_denied(format!(
            "the {service} service takes calls from {} certificates only; {caller} is a {}",
            may.join(" and "),
            caller.role
        )));
    }
    Ok(())
}

/// The worker id the caller's certificate names, when it is a worker's.
pub fn worker_id<T>(request: &Request<T>) -> Option<String> {
    kairos_tls::grpc::peer_identity(request)
        .filter(|caller| caller.role == Role::Worker)
        .map(|caller| caller.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_takes_its_roles_of_its_own_cluster_only() {
        let me = Identity::server("c1", 1);
        let server = Identity::server("c1", 2);
        let worker = Identity::worker("c1", "w1");
        let client = Identity::client("c1", "admin");
        assert!(allowed(&me, "Raft", RAFT, &server).is_ok());
        assert!(allowed(&me, "Raft", RAFT, &worker).is_err());
        assert!(allowed(&me, "Raft", RAFT, &client).is_err());
        assert!(allowed(&me, "Cluster", CLUSTER, &client).is_ok());
        assert!(allowed(&me, "Cluster", CLUSTER, &worker).is_err());
        assert!(allowed(&me, "Worker", WORKER, &worker).is_ok());
        let err = allowed(&me, "Worker", WORKER, &client).unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
        assert!(
            err.message().contains("worker certificates only"),
            "{}",
            err.message()
        );
        let foreign = Identity::server("c2", 2);
        assert!(
            allowed(&me, "Raft", RAFT, &foreign)
                .unwrap_err()
                .message()
                .contains("cluster c2")
        );
    }
}
