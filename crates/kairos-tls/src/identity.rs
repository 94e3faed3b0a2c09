//! Who holds a certificate. Every Kairos certificate names its holder in one URI
//! subject alternative name, SPIFFE-like:
//!
//! ```text
//! kairos://<cluster-id>/server/<node-id>
//! kairos://<cluster-id>/worker/<worker-id>
//! kairos://<cluster-id>/client/<name>
//! ```
//!
//! and the cluster's CA carries `kairos://<cluster-id>` alone. A cluster id is
//! 1 to 63 lowercase letters, digits and `-` (a DNS label, so the URI's host); a
//! node id is a whole number from 1; a worker id or a client name is any text,
//! percent-encoded in the URI outside `A-Z a-z 0-9 - . _ ~`, and only that
//! spelling is accepted, so one holder has one URI.

use std::fmt;

use x509_parser::extensions::GeneralName;

/// The URI scheme of every identity.
pub const SCHEME: &str = "kairos";

/// What kind of holder a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A `kairos server` node; its name is its node id.
    Server,
    /// A `kairos worker`; its name is its worker id.
    Worker,
    /// A person or program using the CLI or the REST API.
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Worker => "worker",
            Role::Client => "client",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "server" => Some(Role::Server),
            "worker" => Some(Role::Worker),
            "client" => Some(Role::Client),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate's holder: its cluster, its role and its name within the role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub cluster: String,
    pub role: Role,
    /// The node id (decimal) for a server, the worker id, or the client's name.
    pub name: String,
}

/// Why a URI or a certificate names no holder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("{0:?} is not a kairos:// identity: {1}")]
    BadUri(String, String),
    #[error("the certificate cannot be read as X.509: {0}")]
    NotX509(String),
    #[error("the certificate has no kairos:// URI subject alternative name naming its holder")]
    Missing,
    #[error("the certificate names more than one holder ({0}); it must name exactly one")]
    Several(String),
    #[error("{0}")]
    Invalid(String),
}

impl Identity {
    /// `kairos://<cluster>/server/<node_id>`.
    pub fn server(cluster: &str, node_id: u64) -> Identity {
        Identity {
            cluster: cluster.to_string(),
            role: Role::Server,
            name: node_id.to_string(),
        }
    }

    /// `kairos://<cluster>/worker/<worker_id>`.
    pub fn worker(cluster: &str, worker_id: &str) -> Identity {
        Identity {
            cluster: cluster.to_string(),
            role: Role::Worker,
            name: worker_id.to_string(),
        }
    }

    /// `kairos://<cluster>/client/<name>`.
    pub fn client(cluster: &str, name: &str) -> Identity {
        Identity {
            cluster: cluster.to_string(),
            role: Role::Client,
            name: name.to_string(),
        }
    }

    /// A server's node id; `None` for the other roles.
    pub fn node_id(&self) -> Option<u64> {
        match self.role {
            Role::Server => self.name.parse().ok(),
            _ => None,
        }
    }

    /// Checks the parts: a valid cluster id, a node id for a server, a non-empty
    /// name for the others.
    pub fn check(&self) -> Result<(), IdentityError> {
        check_cluster_id(&self.cluster).map_err(IdentityError::Invalid)?;
        match self.role {
            Role::Server => {
                let canonical = self
                    .name
                    .parse::<u64>()
                    .ok()
                    .filter(|id| *id >= 1 && id.to_string() == self.name);
                if canonical.is_none() {
                    return Err(IdentityError::Invalid(format!(
                        "a server's name is its node id, a whole number from 1; {:?} is not",
                        self.name
                    )));
                }
            }
            Role::Worker | Role::Client => {
                if self.name.trim().is_empty() || self.name.len() > 255 {
                    return Err(IdentityError::Invalid(format!(
                        "a {}'s name must be 1 to 255 bytes and not blank; {:?} is not",
                        self.role, self.name
                    )));
                }
                if self.name.chars().any(char::is_control) {
                    return Err(IdentityError::Invalid(format!(
                        "a {}'s name may not hold control characters: {:?}",
                        self.role, self.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The URI this identity is written as in a certificate.
    pub fn uri(&self) -> String {
        format!(
            "{SCHEME}://{}/{}/{}",
            self.cluster,
            self.role,
            percent_encode(&self.name)
        )
    }

    /// Reads `kairos://<cluster>/<role>/<name>`; only the canonical spelling.
    pub fn parse(uri: &str) -> Result<Identity, IdentityError> {
        let bad = |why: &str| IdentityError::BadUri(uri.to_string(), why.to_string());
        let rest = uri
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| bad("it does not start with kairos://"))?;
        let mut parts = rest.splitn(3, '/');
        let cluster = parts.next().unwrap_or_default();
        let role = parts.next().ok_or_else(|| {
            bad("it names a cluster but no holder (that is a CA's URI); expected kairos://CLUSTER/ROLE/NAME")
        })?;
        let name = parts
            .next()
            .ok_or_else(|| bad("it has no name after the role"))?;
        let role = Role::parse(role).ok_or_else(|| {
            bad(&format!(
                "the role {role:?} is not server, worker or client"
            ))
        })?;
        let decoded = percent_decode(name).map_err(|e| bad(&e))?;
        if percent_encode(&decoded) != name {
            return Err(bad(&format!(
                "the name is not in its one spelling (write it as {:?})",
                percent_encode(&decoded)
            )));
        }
        let identity = Identity {
            cluster: cluster.to_string(),
            role,
            name: decoded,
        };
        identity.check().map_err(|e| bad(&e.to_string()))?;
        Ok(identity)
    }

    /// The holder named by a DER certificate: exactly one `kairos://` URI with
    /// a role among its subject alternative names.
    pub fn from_der(der: &[u8]) -> Result<Identity, IdentityError> {
        let uris = kairos_uris(der)?;
        let holders: Vec<&String> = uris.iter().filter(|u| u.matches('/').count() > 2).collect();
        match holders.as_slice() {
            [] => Err(IdentityError::Missing),
            [one] => Identity::parse(one),
            several => Err(IdentityError::Several(
                several
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// The cluster id a CA certificate carries as `kairos://<cluster-id>`, if any.
pub fn ca_cluster_id(der: &[u8]) -> Result<Option<String>, IdentityError> {
    let uris = kairos_uris(der)?;
    for uri in uris {
        let rest = &uri[SCHEME.len() + 3..];
        let cluster = rest.trim_end_matches('/');
        if !cluster.contains('/') {
            check_cluster_id(cluster)
                .map_err(|e| IdentityError::BadUri(uri.clone(), e.to_string()))?;
            return Ok(Some(cluster.to_string()));
        }
    }
    Ok(None)
}

/// Every `kairos://` URI among a certificate's subject alternative names.
fn kairos_uris(der: &[u8]) -> Result<Vec<String>, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::NotX509(e.to_string()))?;
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::NotX509(format!("its subject alternative names: {e}")))?;
    let prefix = format!("{SCHEME}://");
    Ok(sans
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::URI(uri) if uri.starts_with(&prefix) => Some(uri.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// A cluster id is a DNS label: 1 to 63 of `a-z 0-9 -`, not starting or ending
/// with `-`.
pub fn check_cluster_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the cluster id {id:?} must be 1 to 63 lowercase letters, digits and '-', \
             not starting or ending with '-'"
        ))
    }
}

/// Percent-encodes every byte outside the URI's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("a bad %-escape at byte {i} of the name"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the name is not UTF-8 once decoded".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_through_their_uri() {
        for id in [
            Identity::server("prod-1", 3),
            Identity::worker("prod-1", "host-a.example-1f2e3d4c"),
            Identity::worker("c", "etl/batch #2"),
            Identity::client("c", "alice"),
        ] {
            assert_eq!(Identity::parse(&id.uri()), Ok(id.clone()), "{}", id.uri());
        }
        assert_eq!(
            Identity::worker("c", "etl/batch #2").uri(),
            "kairos://c/worker/etl%2Fbatch%20%232"
        );
        assert_eq!(Identity::server("c", 7).node_id(), Some(7));
        assert_eq!(Identity::client("c", "7").node_id(), None);
    }

    #[test]
    fn bad_uris_say_what_is_wrong() {
        let err = |uri: &str| Identity::parse(uri).unwrap_err().to_string();
        assert!(err("spiffe://c/server/1").contains("kairos://"));
        assert!(err("kairos://c").contains("CA"));
        assert!(err("kairos://c/admin/x").contains("\"admin\""));
        assert!(err("kairos://c/server/0").contains("from 1"));
        assert!(err("kairos://c/server/01").contains("from 1"));
        assert!(err("kairos://Prod/server/1").contains("lowercase"));
        assert!(err("kairos://c/worker/a%2fb").contains("one spelling"));
        assert!(err("kairos://c/worker/a%zz").contains("%-escape"));
        assert!(err("kairos://c/client/").contains("not blank"));
    }

    #[test]
    fn cluster_ids_are_dns_labels() {
        assert!(check_cluster_id("a1-b2").is_ok());
        for bad in ["", "-a", "a-", "A", "a.b", &"a".repeat(64)] {
            assert!(check_cluster_id(bad).is_err(), "{bad:?}");
        }
    }
}
