//! A bundle's manifest (`kairos-bundle.toml` at the root of a DAG folder): which
//! bundle the folder is, which team owns it, which execution environment its tasks
//! run in, and which files are left out of a push (issue 17). Read by the CLI and
//! `kairos dev` before a push; the servers only ever see what it resolved to.
//!
//! ```toml
//! name = "sales"             # the bundle (default: the folder's name)
//! team = "analytics"         # the team that owns it (default: none)
//! environment = "py312-etl"  # the execution environment its tasks need (default: any)
//! ignore = ["*.ipynb", "scratch/"]  # left out of a push, as .gitignore patterns
//! requirements = "requirements.lock" # packages layered on the environment (optional)
//! wheels = "wheels/"         # where the lock's wheels are, inside the bundle (optional)
//! ```

use serde::Deserialize;

use crate::load::is_valid_id;

/// The manifest's file name.
pub const MANIFEST: &str = "kairos-bundle.toml";

/// What a manifest says, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// A pip requirements file inside the bundle, installed (offline) on top of
    /// the environment by each worker, once per lock.
    pub requirements: Option<String>,
    /// A folder inside the bundle holding the wheels `requirements` installs.
    pub wheels: Option<String>,
}

/// A manifest that cannot be used: where, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ManifestError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Manifest {
    /// Parses and checks the manifest `text`, read from `file` (for messages).
    pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        let at = |offset: usize, message: String| {
            let before = &text[..offset.min(text.len())];
            ManifestError {
                file: file.to_string(),
                line: before.matches('\n').count() + 1,
                column: before
                    .rfind('\n')
                    .map_or(before.len(), |n| before.len() - n - 1)
                    + 1,
                message,
            }
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |span| span.start);
            at(offset, e.message().trim().to_string())
        })?;
        // Where a top-level key's line starts (the manifest is flat: one key a line).
        let key_at = |key: &str| {
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                let rest = line.trim_start();
                if rest
                    .strip_prefix(key)
                    .is_some_and(|after| after.trim_start().starts_with('='))
                {
                    return offset + (line.len() - rest.len());
                }
                offset += line.len();
            }
            0
        };
        for (key, value) in [
            ("name", &manifest.name),
            ("team", &manifest.team),
            ("environment", &manifest.environment),
        ] {
            if let Some(value) = value {
                if !is_valid_id(value) {
                    return Err(at(
                        key_at(key),
                        format!(
                            "`{key}` {value:?} is not a valid name: use letters, digits, `_`, `-` and `.` (at most 250)"
                        ),
                    ));
                }
            }
        }
        for (key, value) in [
            ("requirements", &manifest.requirements),
            ("wheels", &manifest.wheels),
        ] {
            if let Some(value) = value {
                if !crate::bundle_content::is_bundle_path(value.trim_end_matches('/')) {
                    return Err(at(
                        key_at(key),
                        format!(
                            "`{key}` {value:?} must be a path inside the bundle (relative, no `..`)"
                        ),
                    ));
                }
            }
        }
        if let Some(empty) = manifest.ignore.iter().position(|p| p.trim().is_empty()) {
            return Err(at(
                key_at("ignore"),
                format!("`ignore` pattern {} is empty; remove it", empty + 1),
            ));
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_reads_back() {
        let manifest = Manifest::parse(
            MANIFEST,
            "name = \"sales\"\nteam = \"analytics\"\nenvironment = \"py312-etl\"\nignore = [\"*.ipynb\", \"scratch/\"]\n",
        )
        .unwrap();
        assert_eq!(manifest.name.as_deref(), Some("sales"));
        assert_eq!(manifest.team.as_deref(), Some("analytics"));
        assert_eq!(manifest.environment.as_deref(), Some("py312-etl"));
        assert_eq!(manifest.ignore, ["*.ipynb", "scratch/"]);
        assert_eq!(Manifest::parse(MANIFEST, "").unwrap(), Manifest::default());
    }

    #[test]
    fn mistakes_point_at_their_line_and_column() {
        let error = Manifest::parse(MANIFEST, "name = \"sales\"\nteem = \"x\"\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 1), "{error}");
        assert!(error.message.contains("teem"), "{error}");
        let error = Manifest::parse(MANIFEST, "name = \"sales\"\nteam = \"a b\"\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.to_string().contains("not a valid name"), "{error}");
        let error = Manifest::parse(MANIFEST, "ignore = [\"\"]\n").unwrap_err();
        assert!(error.message.contains("empty"), "{error}");
    }
}
