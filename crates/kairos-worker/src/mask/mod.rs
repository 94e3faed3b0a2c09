//! The secrets masker. What an attempt must not print is replaced with `***`
//! before it reaches the attempt's log: the values of the Variables its templates
//! read, and values under names that look like secrets (Airflow's sensitive
//! keywords) in its rendered fields, `params` and `conf`. The log tail that
//! travels with the report is read from that log, and the worker's own lines
//! there (the rendered command, the reason an attempt failed) pass through the
//! same masker, so the cluster never sees the values. One [`Secrets`] per
//! attempt; it only grows.

mod forms;
mod keys;
mod stream;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value as Json;

pub use keys::{SENSITIVE_KEYWORDS, is_sensitive_key};
pub use stream::MaskedStream;

/// What a secret becomes.
pub const MASK: &str = "***";

/// Values shorter than this (in characters) are masked only when their name
/// looks like a secret's, as Airflow's `min_length_masked_secret`: masking a
/// Variable `region = eu` would cut `eu` out of every word, and tell the value
/// anyway.
pub const MIN_PLAIN_LEN: usize = 5;

/// The secrets of one attempt, shared by everything that writes its log.
#[derive(Default)]
pub struct Secrets {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    patterns: BTreeSet<String>,
    masker: Masker,
}

impl Secrets {
    pub fn new() -> Arc<Secrets> {
        Arc::new(Secrets::default())
    }

    /// Masks `value` from now on. `named`: its name looks like a secret's, so it
    /// is masked however short (but never when empty).
    pub fn add(&self, value: &str, named: bool) {
        let chars = value.chars().count();
        if chars == 0 || (!named && chars < MIN_PLAIN_LEN) {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let before = inner.patterns.len();
        let min_len = if named { 1 } else { MIN_PLAIN_LEN };
        inner.patterns.extend(forms::forms(value, min_len));
        if inner.patterns.len() == before {
            return;
        }
        match Masker::build(&inner.patterns) {
            Ok(masker) => inner.masker = masker,
            // Only a pattern set past aho-corasick's limits fails to build; the
            // earlier patterns are still masked, and this says which was not.
            Err(e) => tracing::error!(
                "cannot add a secret to the masker ({} patterns): {e}; it is not masked in this attempt's log",
                inner.patterns.len()
            ),
        }
    }

    /// A Variable the attempt read: its whole value, and when it is JSON (for
    /// `var.json`), every string or number inside.
    pub fn add_variable(&self, name: &str, value: &str) {
        let named = is_sensitive_key(name);
        self.add(value, named);
        if let Ok(json @ (Json::Object(_) | Json::Array(_))) = serde_json::from_str::<Json>(value) {
            for (leaf, leaf_named) in keys::leaves(&json, true) {
                self.add(&leaf, named || leaf_named);
            }
        }
    }

    /// The values under names that look like secrets in `value` (a rendered
    /// field, `params`, `conf`).
    pub fn add_named_in(&self, value: &Json) {
        for (leaf, _) in keys::leaves(value, false) {
            self.add(&leaf, true);
        }
    }

    /// The masker as it is now, a snapshot (a process's output goes through
    /// [`Secrets::live_masker`], which follows what is added while it runs).
    pub fn masker(&self) -> Masker {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .masker
            .clone()
    }

    /// A masker that follows this set: a stream through it masks, from its
    /// next bytes on, the secrets added while its process runs (a Variable or
    /// connection the task code asks for).
    pub fn live_masker(self: &Arc<Self>) -> Masker {
        Masker {
            live: Some(self.clone()),
            ..self.masker()
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        self.masker().mask_str(text)
    }
}

/// A snapshot of the patterns, cheap to clone.
#[derive(Clone, Default)]
pub struct Masker {
    matcher: Option<Arc<AhoCorasick>>,
    /// The longest pattern, in bytes.
    longest: usize,
    /// The set this snapshot follows ([`Secrets::live_masker`]).
    live: Option<Arc<Secrets>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Masker")
            .field("active", &self.matcher.is_some())
            .finish()
    }
}

impl Masker {
    fn build(patterns: &BTreeSet<String>) -> Result<Masker, aho_corasick::BuildError> {
        // Leftmost-longest: a secret that contains another is masked whole.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)?;
        Ok(Masker {
            matcher: Some(Arc::new(matcher)),
            longest: patterns.iter().map(String::len).max().unwrap_or(0),
            live: None,
        })
    }

    /// A live masker brought up to its set's secrets now; a snapshot as is.
    pub fn refreshed(&self) -> Masker {
        match &self.live {
            Some(secrets) => secrets.live_masker(),
            None => self.clone(),
        }
    }

    /// The longest secret, in bytes (how much a stream must hold back).
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// `bytes` with every secret replaced by [`MASK`].
    pub fn mask<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(matcher) = &self.matcher else {
            return Cow::Borrowed(bytes);
        };
        let mut out = Vec::new();
        let mut from = 0;
        for found in matcher.find_iter(bytes) {
            out.extend_from_slice(&bytes[from..found.start()]);
            out.extend_from_slice(MASK.as_bytes());
            from = found.end();
        }
        if from == 0 {
            return Cow::Borrowed(bytes);
        }
        out.extend_from_slice(&bytes[from..]);
        Cow::Owned(out)
    }

    pub fn mask_str(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.mask(text.as_bytes())).into_owned()
    }

    /// Where `bytes` may be cut before `cut` so that no secret found in it is
    /// split: the start of the secret that spans `cut`, else `cut`.
    pub fn safe_cut(&self, bytes: &[u8], cut: usize) -> usize {
        let Some(matcher) = &self.matcher else {
            return cut;
        };
        for found in matcher.find_iter(bytes) {
            if found.start() >= cut {
                break;
            }
            if found.end() > cut {
                return found.start();
            }
        }
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_are_masked_from_five_characters_and_named_secrets_at_any_length() {
        let secrets = Secrets::new();
        secrets.add_variable("region", "eu");
        secrets.add_variable("bucket", "data-lake");
        secrets.add_variable("db_password", "pw1");
        assert_eq!(
            secrets.mask("eu: s3://data-lake/x with pw1"),
            "eu: s3://***/x with ***"
        );
    }

    #[test]
    fn a_json_variable_masks_its_inner_values_too() {
        let secrets = Secrets::new();
        secrets.add_variable(
            "cfg",
            r#"{"host": "db.example.com", "pin": "1234", "token": "t0k"}"#,
        );
        assert_eq!(
            secrets.mask("db.example.com 1234 t0k"),
            "*** 1234 ***",
            "a short plain value stays, a short named one goes"
        );
    }

    #[test]
    fn the_longest_secret_wins_and_unnamed_fields_are_left_alone() {
        let secrets = Secrets::new();
        secrets.add_named_in(&json!({"env": {"API_TOKEN": "abc", "HOME": "/home/u"}}));
        secrets.add("abcdef-long", true);
        assert_eq!(secrets.mask("abcdef-long abc /home/u"), "*** *** /home/u");
        let empty = Secrets::new();
        assert!(matches!(empty.masker().mask(b"x"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let secrets = Secrets::new();
        secrets.add("hunter22", true);
        let masker = secrets.masker();
        assert_eq!(masker.safe_cut(b"xx hunter22 yy", 6), 3);
        assert_eq!(masker.safe_cut(b"xx hunter22 yy", 11), 11);
        assert_eq!(masker.safe_cut(b"xx hunter22 yy", 2), 2);
    }
}
