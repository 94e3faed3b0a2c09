//! Files a DAG references, captured into its version.
//!
//! A DAG version holds the content of every file it needs (its YAML, the
//! `defaults.yml` files above it, Python callables, bash scripts, docs), keyed by
//! their path relative to the DAGs root (the folder given to `push`, `dev` or
//! `validate`; the YAML file's own folder when there is none), so that workers run
//! exactly that code without a shared folder. `$CONFIG_ROOT_DIR` (or
//! `${CONFIG_ROOT_DIR}`) names the root, as in dag-factory setups; a plain relative
//! path is relative to the YAML file's folder. A referenced file must live in the
//! root or below it, so that its key means the same on every machine.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Largest file a DAG version may carry (code, not data).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Reads files for the loader. The CLI reads the disk; the server reads an upload.
pub trait SourceReader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// Reads from the local file system.
pub struct FsReader;

impl SourceReader for FsReader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Files held in memory, by path (tests, and a server validating an upload).
impl SourceReader for BTreeMap<PathBuf, Vec<u8>> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

/// The files of the DAGs of one YAML file, as they are captured: each key's
/// content hash, and each distinct content once.
pub struct FileRefs<'r> {
    root: PathBuf,
    /// The YAML file's folder: where plain relative paths start.
    here: PathBuf,
    reader: &'r dyn SourceReader,
    /// Key -> `sha256:` hash of the content.
    files: BTreeMap<String, String>,
    /// Hash -> content.
    contents: BTreeMap<String, String>,
}

impl<'r> FileRefs<'r> {
    /// `root` is the DAGs root, which is also the YAML file's folder.
    pub fn new(root: &Path, reader: &'r dyn SourceReader) -> FileRefs<'r> {
        FileRefs::below(root, root, reader)
    }

    /// `root` is the DAGs root, `here` the YAML file's folder (in `root` or below).
    pub fn below(root: &Path, here: &Path, reader: &'r dyn SourceReader) -> FileRefs<'r> {
        FileRefs {
            root: root.to_path_buf(),
            here: here.to_path_buf(),
            reader,
            files: BTreeMap::new(),
            contents: BTreeMap::new(),
        }
    }

    /// Reads an optional file (a `defaults.yml`) by its full path: its key and
    /// content, `None` when there is no such file, an error when it cannot be read.
    pub fn capture_optional(&mut self, full: &Path) -> Result<Option<(String, String)>, String> {
        let Some(key) = relative_key(&self.root, full) else {
            return Ok(None);
        };
        if let Some(text) = self.content(&key) {
            return Ok(Some((key, text.to_string())));
        }
        let bytes = match self.reader.read(full) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", full.display())),
        };
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{} is {} bytes; a DAG version carries files up to {MAX_FILE_BYTES} bytes",
                full.display(),
                bytes.len()
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{} is not UTF-8 text", full.display()))?;
        self.insert(&key, text.clone());
        Ok(Some((key, text)))
    }

    /// Records a file whose content is already at hand (the YAML itself).
    pub fn insert(&mut self, key: &str, content: String) {
        let hash = crate::version::content_hash(content.as_bytes());
        self.files.insert(key.to_string(), hash.clone());
        self.contents.insert(hash, content);
    }

    /// Reads the file a DAG refers to by `written`, records it, and returns its key.
    /// The error says what is wrong and how to fix it.
    pub fn capture(&mut self, written: &str) -> Result<String, String> {
        let expanded = written
            .trim()
            .replace("${CONFIG_ROOT_DIR}", &self.root.to_string_lossy())
            .replace("$CONFIG_ROOT_DIR", &self.root.to_string_lossy());
        let path = Path::new(&expanded);
        // `$CONFIG_ROOT_DIR/x` already starts at the root; a plain relative path is
        // relative to the YAML file's folder.
        let names_root =
            written.contains("$CONFIG_ROOT_DIR") || written.contains("${CONFIG_ROOT_DIR}");
        let full = if path.is_absolute() || names_root {
            path.to_path_buf()
        } else {
            self.here.join(path)
        };
        let key = relative_key(&self.root, &full).ok_or_else(|| {
            format!(
                "`{written}` is outside the DAGs root ({}); Kairos ships a DAG's files \
                 with its version, keyed by their place in that folder. Move the file into it \
                 (or below) and write `$CONFIG_ROOT_DIR/<path>`",
                self.root.display()
            )
        })?;
        if self.files.contains_key(&key) {
            return Ok(key);
        }
        let bytes = self
            .reader
            .read(&full)
            .map_err(|e| format!("cannot read `{written}` ({}): {e}", full.display()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!(
                "`{written}` is {} bytes; a DAG version carries files up to {MAX_FILE_BYTES} bytes",
                bytes.len()
            ));
        }
        let text =
            String::from_utf8(bytes).map_err(|_| format!("`{written}` is not UTF-8 text"))?;
        self.insert(&key, text);
        Ok(key)
    }

    /// Every file captured so far: key -> content hash.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// The content of a captured file.
    pub fn content(&self, key: &str) -> Option<&str> {
        self.files
            .get(key)
            .and_then(|h| self.contents.get(h))
            .map(String::as_str)
    }

    /// Key -> content hash for the given keys (the files of one DAG).
    pub fn subset<'k, I: IntoIterator<Item = &'k String>>(
        &self,
        keys: I,
    ) -> BTreeMap<String, String> {
        keys.into_iter()
            .filter_map(|k| self.files.get(k).map(|h| (k.clone(), h.clone())))
            .collect()
    }

    /// Every distinct content captured, by hash.
    pub fn into_contents(self) -> crate::version::FileContents {
        self.contents
    }
}

/// `full` relative to `root` with `/` separators, after resolving `.` and `..`
/// lexically; `None` if it leaves `root`.
pub fn relative_key(root: &Path, full: &Path) -> Option<String> {
    // Absolute paths start with a "/" part, so that they never equal relative ones.
    let normalize = |p: &Path| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                Component::ParentDir => match parts.last().map(String::as_str) {
                    // `/..` is `/`.
                    Some("/") => {}
                    // Above the start of a relative path, `..` is kept.
                    None | Some("..") => parts.push("..".into()),
                    Some(_) => {
                        parts.pop();
                    }
                },
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => {
                    parts.clear();
                    parts.push("/".into());
                }
            }
        }
        parts
    };
    let root_parts = normalize(root);
    let full_parts = normalize(full);
    let rest = full_parts.strip_prefix(root_parts.as_slice())?;
    if rest.is_empty() {
        return None;
    }
    Some(rest.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_to_the_dag_folder() {
        let root = Path::new("/repo/dags");
        assert_eq!(
            relative_key(root, Path::new("/repo/dags/a.py")).as_deref(),
            Some("a.py")
        );
        assert_eq!(
            relative_key(root, Path::new("/repo/dags/lib/../lib/b.py")).as_deref(),
            Some("lib/b.py")
        );
        assert_eq!(relative_key(root, Path::new("/repo/other/a.py")), None);
        assert_eq!(relative_key(root, Path::new("/repo/dags/../x.py")), None);
        // A folder given as ../dags (found in review), and absolute vs relative paths.
        assert_eq!(
            relative_key(Path::new("../dags"), Path::new("../dags/lib/a.py")).as_deref(),
            Some("lib/a.py")
        );
        assert_eq!(
            relative_key(Path::new("../dags"), Path::new("../other/a.py")),
            None
        );
        assert_eq!(
            relative_key(Path::new("dags"), Path::new("/dags/a.py")),
            None
        );
        assert_eq!(
            relative_key(Path::new("/"), Path::new("/../etc/x")).as_deref(),
            Some("etc/x")
        );
        assert_eq!(
            relative_key(Path::new("dags"), Path::new("dags/./a.py")).as_deref(),
            Some("a.py")
        );
    }

    #[test]
    fn capture_expands_config_root_dir_and_reads_once() {
        let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        disk.insert(PathBuf::from("/d/cb.py"), b"def f(): pass\n".to_vec());
        let mut refs = FileRefs::new(Path::new("/d"), &disk);
        assert_eq!(refs.capture("$CONFIG_ROOT_DIR/cb.py"), Ok("cb.py".into()));
        assert_eq!(refs.capture("${CONFIG_ROOT_DIR}/cb.py"), Ok("cb.py".into()));
        assert_eq!(refs.capture("cb.py"), Ok("cb.py".into()));
        assert_eq!(refs.all().len(), 1);
        let err = refs.capture("missing.py").expect_err("missing");
        assert!(err.contains("cannot read"), "{err}");
        let err = refs.capture("/etc/passwd").expect_err("outside");
        assert!(err.contains("outside"), "{err}");
    }

    #[test]
    fn config_root_dir_is_the_root_and_plain_paths_start_at_the_file() {
        let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        disk.insert(PathBuf::from("/d/top.py"), b"x = 1\n".to_vec());
        disk.insert(PathBuf::from("/d/sub/near.py"), b"y = 2\n".to_vec());
        let mut refs = FileRefs::below(Path::new("/d"), Path::new("/d/sub"), &disk);
        assert_eq!(refs.capture("$CONFIG_ROOT_DIR/top.py"), Ok("top.py".into()));
        assert_eq!(refs.capture("near.py"), Ok("sub/near.py".into()));
        assert_eq!(refs.capture("../top.py"), Ok("top.py".into()));
        let err = refs.capture("../../etc/x").expect_err("outside");
        assert!(err.contains("outside the DAGs root"), "{err}");
        assert_eq!(
            refs.capture_optional(Path::new("/d/defaults.yml")),
            Ok(None)
        );
        assert_eq!(
            refs.capture_optional(Path::new("/d/sub/near.py")),
            Ok(Some(("sub/near.py".into(), "y = 2\n".into())))
        );
    }

    #[test]
    fn a_relative_folder_is_not_applied_twice() {
        let mut disk: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        disk.insert(PathBuf::from("dags/lib/cb.py"), b"x = 1\n".to_vec());
        let mut refs = FileRefs::new(Path::new("dags"), &disk);
        assert_eq!(
            refs.capture("$CONFIG_ROOT_DIR/lib/cb.py"),
            Ok("lib/cb.py".into())
        );
        assert_eq!(refs.capture("lib/cb.py"), Ok("lib/cb.py".into()));
        let mut refs = FileRefs::new(Path::new("."), &disk);
        let err = refs
            .capture("$CONFIG_ROOT_DIR/missing.py")
            .expect_err("missing");
        assert!(err.contains("(./missing.py)"), "{err}");
    }
}
