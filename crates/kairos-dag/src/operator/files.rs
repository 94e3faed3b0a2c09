//! The files of a DAG version as operator parsing sees them: a file argument must name
//! one of them.

use std::collections::BTreeMap;

/// The files of a DAG version, by key, as far as parsing needs to know them.
pub trait FileSet {
    fn contains_file(&self, key: &str) -> bool;
}

impl FileSet for BTreeMap<String, String> {
    fn contains_file(&self, key: &str) -> bool {
        self.contains_key(key)
    }
}

/// A file set that holds every key, for listing argument names.
pub(super) struct AnyFile;

impl FileSet for AnyFile {
    fn contains_file(&self, _key: &str) -> bool {
        true
    }
}
