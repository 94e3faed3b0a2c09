//! Mutual TLS for every Kairos port. Servers, workers and the CLI each hold a
//! certificate from their cluster's CA that names them ([`Identity`]:
//! `kairos://<cluster-id>/<server|worker|client>/<name>`), present it on every
//! connection and require one from the other side.
//!
//! - [`Tls`] is a holder's material (certificate, key, CA), checked when loaded
//!   and reloaded on SIGHUP or when its files change ([`Tls::watch`]); every new
//!   connection uses the material of the moment.
//! - [`grpc`]: the TLS listener tonic serves ([`grpc::incoming`]), the caller's
//!   identity in a handler ([`grpc::peer_identity`]), channels that present the
//!   holder's certificate ([`grpc::connect_lazy`]).
//! - [`http`]: the TLS listener axum serves ([`http::TlsListener`], [`http::serve`])
//!   and the caller's identity in a handler ([`http::PeerIdentity`], or the
//!   [`Identity`] request extension).
//! - [`issue`]: the certificates `kairos certs` makes.
//!
//! This crate depends on no other Kairos crate. Which identity may do what is
//! decided by the services that use it, not here.

mod accept;
mod choice;
pub mod error;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod issue;
mod material;
mod pem;
mod reload;
mod verify;

pub use choice::TlsFlags;
pub use error::TlsError;
pub use identity::{Identity, IdentityError, Role};
pub use material::{Alpn, TlsFiles};
pub use reload::{Tls, WATCH_EVERY};

#[cfg(test)]
mod tests;
