//! The one error type of TLS set-up: what went wrong, with the file it came from
//! and how to fix it, so that a server or worker that cannot start says why.

use std::path::PathBuf;

/// Why TLS material could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file that cannot be read or does not hold what it should.
    #[error("{what} {}: {problem}", path.display())]
    File {
        /// What the file should be ("the certificate", "the key", "the CA").
        what: &'static str,
        path: PathBuf,
        problem: String,
    },
    /// The material loads but does not fit together, or cannot be used.
    #[error("{0}")]
    Invalid(String),
}

impl TlsError {
    pub(crate) fn file(
        what: &'static str,
        path: &std::path::Path,
        problem: impl Into<String>,
    ) -> TlsError {
        TlsError::File {
            what,
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// The hint every "make certificates" message ends with.
pub const HOW_TO_MAKE: &str = "make them with `kairos certs ca` and `kairos certs server|worker|client` (see docs/cluster.md#certificates)";
