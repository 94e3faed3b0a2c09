//! `--run-as USER`: a worker running as root starts every task as USER (its
//! uid, its primary group, no supplementary groups), so the worker's key,
//! certificate and token files, its file cache and its runner are out of the
//! task's reach. Refused unless the worker runs as root.

use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User};

/// The user tasks run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub home: PathBuf,
}

impl RunAs {
    /// `user` (a name or a numeric uid), checked: it exists, it is not root, and
    /// the worker is root (only root can start a process as someone else).
    pub fn resolve(user: &str) -> Result<RunAs, String> {
        let found = match user.parse::<u32>() {
            Ok(uid) => User::from_uid(Uid::from_raw(uid)),
            Err(_) => User::from_name(user),
        }
        .map_err(|e| format!("--run-as {user}: cannot look the user up: {e}"))?
        .ok_or_else(|| format!("--run-as {user}: no such user on this machine"))?;
        RunAs::checked(user, found, nix::unistd::geteuid())
    }

    /// `found` as the user tasks run as, for a worker running as `me`.
    fn checked(user: &str, found: User, me: Uid) -> Result<RunAs, String> {
        if found.uid.is_root() {
            return Err(format!(
                "--run-as {user}: that is root; name an unprivileged user for tasks"
            ));
        }
        if !me.is_root() {
            return Err(format!(
                "--run-as {user}: the worker runs as uid {me}, not root, and only root can start tasks as another user; \
                 run the worker as root, or drop --run-as (tasks then run as the worker's own user: see docs/security-worker.md)"
            ));
        }
        Ok(RunAs {
            name: found.name,
            uid: found.uid,
            gid: found.gid,
            home: found.dir,
        })
    }

    /// Makes `command` start as this user. The standard library switches group
    /// then user in the child before exec, and drops the supplementary groups.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        command.uid(self.uid.as_raw()).gid(self.gid.as_raw());
    }

    /// Hands an attempt's working directory to this user, `0700`.
    pub fn own_dir(&self, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::os::unix::fs::chown(dir, Some(self.uid.as_raw()), Some(self.gid.as_raw()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_or_root_is_refused_with_the_reason() {
        let err = RunAs::resolve("no-such-user-kairos").unwrap_err();
        assert!(err.contains("no such user"), "{err}");
        let err = RunAs::resolve("root").unwrap_err();
        assert!(err.contains("unprivileged"), "{err}");
        let err = RunAs::resolve("0").unwrap_err();
        assert!(err.contains("unprivileged"), "{err}");
        let nobody = User::from_name("nobody").ok().flatten();
        if let Some(nobody) = nobody {
            let err = RunAs::checked("nobody", nobody.clone(), Uid::from_raw(1000)).unwrap_err();
            assert!(
                err.contains("runs as uid 1000, not root") && err.contains("drop --run-as"),
                "{err}"
            );
            let user = RunAs::checked("nobody", nobody.clone(), Uid::from_raw(0)).unwrap();
            assert_eq!(user.uid, nobody.uid);
        }
        // The rest depends on who runs the tests.
        match RunAs::resolve("nobody") {
            Ok(user) => assert!(nix::unistd::geteuid().is_root() && !user.uid.is_root()),
            Err(e) => assert!(e.contains("not root") || e.contains("no such user"), "{e}"),
        }
    }
}
