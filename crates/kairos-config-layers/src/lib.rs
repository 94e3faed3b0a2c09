//! Layered configuration, shared by `kairos server` and `kairos worker` so that
//! neither depends on the other for it. Each binary declares its settings once,
//! in one struct of `Option`s (see [`layer!`]): clap reads the flag and its
//! `KAIROS_*` variable (flags win), serde reads the same field from a table of
//! `kairos.toml` ([`read_layer`]), and [`Layer::over`] merges the two field by
//! field before the binary resolves defaults and checks the result.

mod declare;
mod file;
mod number;

pub use file::{Table, read_layer};
pub use number::{WholeNumber, whole_number};

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

/// A set of settings where any may be missing, merged with another field by field.
/// Implemented by [`layer!`]; nothing else needs to write it.
pub trait Layer: Sized {
    /// `self`'s settings where given, `below`'s elsewhere.
    fn over(self, below: Self) -> Self;
}
