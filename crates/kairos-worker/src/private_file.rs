//! Files the worker writes for one attempt's process (the bash command, the
//! Python call spec) and reads back from it (results): written fresh, `0600`,
//! never through a link a task left in their place, and read without following
//! one (a worker running as root would otherwise read or overwrite whatever a
//! `--run-as` task pointed the link at).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::OFlag;

use crate::run_as::RunAs;

/// Writes `bytes` to a new file at `path` (removing what is there, a link
/// included), `0600`, owned by `run_as` when given so that its task can read it.
pub fn write(path: &Path, bytes: &[u8], run_as: Option<&RunAs>) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // create_new: O_EXCL, which fails on a link instead of following it.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    if let Some(user) = run_as {
        std::os::unix::fs::fchown(&file, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
    }
    file.write_all(bytes)
}

/// The text of `path`, refusing a symbolic link.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_left_in_place_is_replaced_on_write_and_refused_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let link = dir.path().join("call.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_to_string(&link).is_err(), "a link is not followed");
        write(&link, b"spec", None).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(read_to_string(&link).unwrap(), "spec");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&link).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
