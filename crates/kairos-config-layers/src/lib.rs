//! Layered configuration, shared by `kairos server` and `kairos worker` so that
//! neither depends on the other for it. Each binary declares its settings once,
//! in one struct of `Option`s (see [`layer!`]): clap reads the flag and its
//! `KAIROS_*` variable (flags win), serde reads the same field from a table of
//! `kairos.toml` ([`read_layer`]), and [`Layer::over`] merges the two field by
//! field before the binary resolves defaults and checks the result.

mod error;
mod file;
mod layer;
mod number;

pub use error::ConfigError;
pub use file::{Table, commented_settings, read_layer};
pub use layer::Layer;
pub use number::{WholeNumber, whole_number};
