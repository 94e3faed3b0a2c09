//! Stops the process groups of running attempts the moment the worker dies.
//!
//! A small shell process, started once, reads the groups this worker runs on
//! a pipe (`+ PGID` when one starts, `- PGID` when its attempt ends). It
//! ignores SIGINT, SIGTERM and SIGHUP and sits in a process group of its own;
//! when the worker dies, however (even `kill -9`), the kernel closes the pipe,
//! and the guard SIGKILLs every group still listed, then exits. Attempts'
//! children are spawned without running any code of ours between fork and
//! exec (so the standard library uses `posix_spawn`, not `fork`: forking the
//! worker, a multi-threaded process, made every page it wrote afterwards a
//! copy-on-write fault, most of its CPU on a busy worker); a parent-death
//! signal set in the child needed that code, and it only reached the direct
//! child, where the guard stops the whole group.
//!
//! The guard is per worker process; if it dies, the next start or end of an
//! attempt starts a new one and lists every group again.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The guard: a list of groups kept with shell built-ins only, killed on EOF.
const SCRIPT: &str = r#"trap '' INT TERM HUP
groups=' '
while read -r op pgid; do
  case "$op" in
    +) groups="$groups$pgid " ;;
    -) case "$groups" in *" $pgid "*) groups="${groups%% $pgid *} ${groups#* $pgid }" ;; esac ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
"#;

struct Guard {
    child: Child,
    stdin: ChildStdin,
}

struct Guarded {
    guard: Option<Guard>,
    /// The groups running now (sent again to a new guard).
    groups: BTreeSet<i32>,
}

static GUARDED: Mutex<Guarded> = Mutex::new(Guarded {
    guard: None,
    groups: BTreeSet::new(),
});

/// A group under the guard until this is dropped (its attempt ended).
#[must_use]
pub struct Watched(i32);

/// Puts the process group `pgid` under the guard. A guard that cannot be
/// started is logged: the group is then stopped only by the next start of the
/// worker (its recorded group file).
pub fn watch(pgid: i32) -> Watched {
    if pgid > 0 {
        update(pgid, true);
    }
    Watched(pgid)
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.0 > 0 {
            update(self.0, false);
        }
    }
}

fn update(pgid: i32, running: bool) {
    let mut guarded = GUARDED.lock().unwrap_or_else(|p| p.into_inner());
    if running {
        guarded.groups.insert(pgid);
    } else {
        guarded.groups.remove(&pgid);
    }
    let line = format!("{} {pgid}\n", if running { '+' } else { '-' });
    if let Some(guard) = guarded.guard.as_mut() {
        if guard.stdin.write_all(line.as_bytes()).is_ok() {
            return;
        }
        // The guard died: it is replaced and told every running group.
        let _ = guard.child.kill();
        let _ = guard.child.wait();
        guarded.guard = None;
    }
    match start(&guarded.groups) {
        Ok(guard) => guarded.guard = Some(guard),
        Err(e) => tracing::warn!(
            "cannot start the guard that stops attempts' process groups if this worker dies: {e}"
        ),
    }
}

fn start(groups: &BTreeSet<i32>) -> std::io::Result<Guard> {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the worker's group: a signal to that group leaves it be.
        .process_group(0)
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("the guard has no stdin"))?;
    for pgid in groups {
        stdin.write_all(format!("+ {pgid}\n").as_bytes())?;
    }
    Ok(Guard { child, stdin })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    use super::*;
    use crate::process::group_alive;

    fn group_of_sleeps() -> Child {
        Command::new("/bin/sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .expect("sh")
    }

    fn gone_within(pgid: i32, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !group_alive(pgid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// A guard of its own (not the process-wide one): its pipe closed as the
    /// worker's death would close it.
    #[test]
    fn the_guard_kills_the_listed_groups_when_its_pipe_closes_and_no_others() {
        let mut listed = group_of_sleeps();
        let mut ended = group_of_sleeps();
        let mut other = group_of_sleeps();
        let (a, b, c) = (listed.id() as i32, ended.id() as i32, other.id() as i32);
        let mut guard = start(&BTreeSet::from([a])).expect("a guard");
        guard
            .stdin
            .write_all(format!("+ {b}\n- {b}\n").as_bytes())
            .expect("the guard reads");
        drop(guard.stdin);
        assert!(
            gone_within(a, Duration::from_secs(5)),
            "the listed group lives on"
        );
        guard.child.wait().expect("the guard exits");
        assert!(group_alive(b), "a group whose attempt ended was killed");
        assert!(group_alive(c), "a group never listed was killed");
        for (pgid, child) in [(b, &mut ended), (c, &mut other)] {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            let _ = child.wait();
        }
        let _ = listed.wait();
    }
}
