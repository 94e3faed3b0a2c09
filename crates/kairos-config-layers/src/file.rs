//! `kairos.toml`: one file for a machine, a `[server]` table for `kairos server`
//! and a `[worker]` table for `kairos worker`. Each binary reads its own table
//! and leaves the other alone; any other top-level key, or an unknown key in its
//! table, is an error that names the file, the line and the key.

use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::ConfigError;

/// The tables of `kairos.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Server,
    Worker,
}

impl Table {
    /// Its name in the file.
    pub fn name(self) -> &'static str {
        match self {
            Table::Server => "server",
            Table::Worker => "worker",
        }
    }
}

/// The settings of `table` in a reference file whose settings are commented
/// out (`# key = value`, as deploy/kairos.toml lists every one with its
/// default), uncommented: a table to read, and to check names every setting.
pub fn commented_settings(reference: &str, table: Table) -> String {
    let header = format!("[{}]", table.name());
    let mut out = format!("{header}\n");
    let mut inside = false;
    for line in reference.lines() {
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        let setting = line.strip_prefix("# ").filter(|rest| {
            rest.split_once(" = ")
                .is_some_and(|(key, _)| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        });
        if let (true, Some(setting)) = (inside, setting) {
            out.push_str(setting);
            out.push('\n');
        }
    }
    out
}

/// The whole file, with the table this binary reads typed and the other skipped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KairosToml<S, W> {
    server: Option<S>,
    worker: Option<W>,
}

/// The `table` of the `kairos.toml` at `path` as a layer of settings (empty when
/// the file has no such table). A file that is not there is an empty layer too:
/// `--config` defaults to `kairos.toml` in the working directory, which need not
/// exist. A file that exists but cannot be read is an error.
pub fn read_layer<L>(path: &Path, table: Table) -> Result<L, ConfigError>
where
    L: DeserializeOwned + Default,
{
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(L::default()),
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    let parse_error = |e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        error: e.to_string(),
    };
    let layer = match table {
        Table::Server => {
            toml::from_str::<KairosToml<L, IgnoredAny>>(&text)
                .map_err(parse_error)?
                .server
        }
        Table::Worker => {
            toml::from_str::<KairosToml<IgnoredAny, L>>(&text)
                .map_err(parse_error)?
                .worker
        }
    };
    Ok(layer.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        slots: Option<u32>,
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kairos.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn each_binary_reads_its_own_table_and_leaves_the_other() {
        let (_dir, path) = file("[server]\nnode_id = 1\nanything = \"x\"\n[worker]\nslots = 3\n");
        let worker: Settings = read_layer(&path, Table::Worker).unwrap();
        assert_eq!(worker.slots, Some(3));
        let (_dir, path) = file("[worker]\nslots = 3\n");
        let server: Settings = read_layer(&path, Table::Server).unwrap();
        assert_eq!(server, Settings::default());
    }

    #[test]
    fn a_missing_file_is_an_empty_layer() {
        let dir = tempfile::tempdir().unwrap();
        let layer: Settings = read_layer(&dir.path().join("kairos.toml"), Table::Server).unwrap();
        assert_eq!(layer, Settings::default());
    }

    #[test]
    fn unknown_keys_and_tables_name_the_file_and_the_key() {
        let (_dir, path) = file("[worker]\nslot = 3\n");
        let err = read_layer::<Settings>(&path, Table::Worker)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kairos.toml") && err.contains("slot"), "{err}");
        let (_dir, path) = file("[workers]\nslots = 3\n");
        let err = read_layer::<Settings>(&path, Table::Worker)
            .unwrap_err()
            .to_string();
        assert!(err.contains("workers"), "{err}");
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let err = read_layer::<Settings>(dir.path(), Table::Server)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
