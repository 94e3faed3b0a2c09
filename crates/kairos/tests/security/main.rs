//! The attack suite: real `kairos server` processes, and a client that tries what
//! an attacker on the network, or a compromised worker or task, would try. Each
//! attack must be refused with nothing lost and every node still serving. The
//! table of attacks, with the test that tries each, is in docs/security.md.
//!
//! One test binary (each links RocksDB), one module per kind of attacker.

mod attempts;
mod batches;
mod identity;
mod input;
mod raft;
mod support;
mod tls;
