//! The options of a load: who the loaded DAGs belong to (in a file of its own so that
//! the loader's parts can take it without importing the loader's entry points).

/// Who the DAGs belong to; set by whoever pushes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    pub bundle: String,
    pub team: Option<String>,
    /// The bundle manifest's `environment`: the DAGs' execution environment
    /// unless a DAG file or a task names its own.
    pub environment: Option<String>,
    /// The DAGs root: the folder given to `push`, `dev` or `validate` (or
    /// `$CONFIG_ROOT_DIR`). `$CONFIG_ROOT_DIR` names it, `defaults.yml` files are
    /// read from a DAG file's folder up to it, and files are keyed relative to it.
    /// `None`, or a root the DAG file is not in: the DAG file's own folder.
    pub root: Option<std::path::PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            bundle: crate::model::defaults::BUNDLE.to_string(),
            team: None,
            environment: None,
            root: None,
        }
    }
}
