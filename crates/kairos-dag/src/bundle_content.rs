//! What one bundle version holds: every file of the pushed folder by its path
//! (content by hash, stored once), the team that owns it and the environment its
//! tasks run in. Its hash is the version's identity: a push whose content hashes
//! the same as the newest version makes no new one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::version::{canonical_json, content_hash};

/// The most files one bundle version may hold.
pub use crate::limits::MAX_BUNDLE_FILES;

/// A bundle version's content, as pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleContent {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Path inside the bundle (`/`-separated, relative) → `sha256:` of the stored text.
    pub files: BTreeMap<String, String>,
    /// Paths whose stored text is the base64 of the file's bytes (files that are
    /// not UTF-8, such as wheels).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub binary: BTreeSet<String>,
    /// The manifest's `requirements` (a path among `files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
    /// The manifest's `wheels` folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheels: Option<String>,
}

impl BundleContent {
    /// `sha256:<hex>` of the canonical form: the version's identity.
    pub fn content_hash(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        content_hash(canonical_json(&value).as_bytes())
    }

    /// The first thing wrong with the content's shape, if any: paths, counts,
    /// `binary`, `requirements` and `wheels` that name no file.
    pub fn problem(&self) -> Option<String> {
        if self.files.len() > MAX_BUNDLE_FILES {
            return Some(format!(
                "bundle `{}` has {} files; a bundle may hold at most {MAX_BUNDLE_FILES}. \
                 Leave files out with `ignore` in kairos-bundle.toml, or split the bundle",
                self.name,
                self.files.len()
            ));
        }
        if let Some(bad) = self.files.keys().find(|p| !is_bundle_path(p)) {
            return Some(format!(
                "bundle path {bad:?} must be relative, `/`-separated, without `.` or `..` parts"
            ));
        }
        if let Some(bad) = self.files.values().find(|h| !is_hash(h)) {
            return Some(format!(
                "{bad:?} is not a `sha256:<64 hex digits>` content hash"
            ));
        }
        if let Some(bad) = self.binary.iter().find(|p| !self.files.contains_key(*p)) {
            return Some(format!(
                "binary file {bad:?} is not among the bundle's files"
            ));
        }
        if let Some(lock) = &self.requirements {
            if !self.files.contains_key(lock) {
                return Some(format!(
                    "the requirements file {lock:?} named in kairos-bundle.toml is not in the bundle"
                ));
            }
        }
        None
    }
}

/// A path inside a bundle: relative, `/`-separated, no empty, `.` or `..` part,
/// no NUL or backslash.
pub fn is_bundle_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 1024
        && !path.contains(['\0', '\\'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// `sha256:` and 64 lowercase hex digits.
pub fn is_hash(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    #[test]
    fn the_hash_covers_every_path_and_content() {
        let mut a = BundleContent {
            name: "b".into(),
            files: [("dags/a.yml".to_string(), hash(1))].into(),
            ..Default::default()
        };
        let first = a.content_hash();
        a.files.insert("lib/x.py".into(), hash(2));
        let second = a.content_hash();
        a.files.insert("lib/x.py".into(), hash(3));
        assert_ne!(first, second);
        assert_ne!(second, a.content_hash());
        a.team = Some("t".into());
        assert_ne!(second, a.content_hash());
    }

    #[test]
    fn paths_stay_inside_the_bundle() {
        for good in ["a.py", "pkg/mod.py", "x/y/z.yml", ".hidden"] {
            assert!(is_bundle_path(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "a\0b",
        ] {
            assert!(!is_bundle_path(bad), "{bad:?}");
        }
        let bad = BundleContent {
            name: "b".into(),
            files: [("../x".to_string(), hash(1))].into(),
            ..Default::default()
        };
        assert!(bad.problem().unwrap().contains("relative"));
        let bad = BundleContent {
            name: "b".into(),
            files: [("x".to_string(), "md5:1".to_string())].into(),
            ..Default::default()
        };
        assert!(bad.problem().unwrap().contains("content hash"));
        let bad = BundleContent {
            name: "b".into(),
            requirements: Some("req.lock".into()),
            ..Default::default()
        };
        assert!(bad.problem().unwrap().contains("req.lock"));
    }
}
