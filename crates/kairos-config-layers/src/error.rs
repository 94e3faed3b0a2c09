//! The one error type of configuration, shared by both binaries: a file that
//! cannot be read or parsed, or a setting that is wrong.

use std::path::PathBuf;

/// Why a configuration was refused: a file that cannot be read or parsed, or a
/// setting that is wrong (the message says which and what to give instead).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Parse { path: PathBuf, error: String },
    #[error("{0}")]
    Invalid(String),
}
