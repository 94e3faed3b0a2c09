//! The `kairos` CLI as tests run it: without the caller's `KAIROS_SERVER` and
//! `KAIROS_TOKEN`, its output as one text, `-o json` answers parsed, and the
//! files of a DAG folder or bundle written in one call.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `kairos` binary under test.
pub struct Cli {
    binary: PathBuf,
}

impl Cli {
    pub fn new(binary: &Path) -> Cli {
        Cli {
            binary: binary.to_path_buf(),
        }
    }

    /// Runs `kairos ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .args(args)
            .env_remove("KAIROS_SERVER")
            .env_remove("KAIROS_TOKEN")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()))
    }

    /// Runs `kairos ARGS -o json`, which must succeed; its answer.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.run(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out)))
    }
}

/// A command's stdout then stderr, as one text for messages and searches.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes `bytes` at `path` below `root`, making the folders it needs.
pub fn write_file(root: &Path, path: &str, bytes: impl AsRef<[u8]>) {
    let at = root.join(path);
    std::fs::create_dir_all(at.parent().expect("a parent")).expect("mkdir");
    std::fs::write(at, bytes).expect("write");
}

/// Copies the folder `from` to `to` (made as needed), leaving `__pycache__` out.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read the folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
