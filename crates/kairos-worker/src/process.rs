//! One attempt's child process: its own process group, its output in the attempt's
//! log, and a clean stop (SIGTERM to the whole group, SIGKILL after a grace period)
//! on timeout or cancellation.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

use crate::mask::Masker;
use crate::output;
use crate::run_as::RunAs;

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The whole environment of the process: nothing of the worker's is
    /// inherited (see `env.rs` for what an attempt gets).
    pub env: Vec<(String, String)>,
    /// Appended to; stdout and stderr both go here, through `masker`.
    pub log: PathBuf,
    pub masker: Masker,
    /// The user the process runs as (`--run-as`); `None`: the worker's.
    pub run_as: Option<RunAs>,
    /// Where to record the process group id while it runs, so that a restarted
    /// worker can stop what its earlier life left behind.
    pub pgid_file: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Killed by a signal nobody here sent (e.g. the OOM killer).
    Signalled(i32),
    /// `timeout` passed; the group was stopped.
    TimedOut,
    /// The cancel signal came; the group was stopped.
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub ended: Ended,
    /// The last line written to stdout (Airflow's BashOperator `return_value`).
    pub last_line: Option<String>,
    /// The process group id, so tests can check the group is gone.
    pub pgid: i32,
}

/// Runs `spec` to its end. `cancel` turning true stops the group.
pub async fn run(spec: &Spec, mut cancel: watch::Receiver<bool>) -> std::io::Result<Outcome> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)?;
    // A path, not a name: given a name and an environment of its own, the
    // standard library forks to search that PATH in the child. Not for
    // `--run-as`: that child is forked anyway, and searches PATH as its user
    // (a path the worker's user finds may be one that user cannot run).
    let program = match &spec.run_as {
        None => resolve(&spec.program, &spec.env),
        Some(_) => spec.program.clone(),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so that a stop reaches everything it started.
        .process_group(0)
        .kill_on_drop(false)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(user) = &spec.run_as {
        user.apply(&mut command);
        // SAFETY: the closure runs in the forked child before exec and only
        // calls prctl(2), which is async-signal-safe. A process switching users
        // is forked anyway (`posix_spawn` cannot set the user), so it also
        // gets a parent-death signal, besides the group guard. (The standard
        // library runs it after switching to the `--run-as` user, which clears
        // an earlier one.)
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
    }
    // Nothing of ours runs between fork and exec, so this is a `posix_spawn`
    // (no copy-on-write of the worker's memory); the group guard stops the
    // group if the worker dies while it runs.
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0) as i32;
    let _guarded = crate::group_guard::watch(pid);
    if let Some(path) = &spec.pgid_file {
        if let Err(e) = std::fs::write(path, pid.to_string()) {
            tracing::warn!(
                pgid = pid,
                file = %path.display(),
                "cannot record an attempt's process group: if this worker is killed, its next start cannot stop the group: {e}"
            );
        }
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (log_path, masker) = (spec.log.clone(), spec.masker.clone());
    let err_log = log.try_clone()?;
    let reader = tokio::spawn(async move {
        match stdout {
            Some(out) => output::pump(out, log, log_path, masker, true).await,
            None => None,
        }
    });
    let (log_path, masker) = (spec.log.clone(), spec.masker.clone());
    let err_reader = tokio::spawn(async move {
        if let Some(err) = stderr {
            output::pump(err, err_log, log_path, masker, false).await;
        }
    });

    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let cancelled = async {
        if cancel.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let ended = tokio::select! {
        status = child.wait() => {
            let status = status?;
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Exited(code),
                (None, Some(signal)) => Ended::Signalled(signal),
                (None, None) => Ended::Exited(-1),
            }
        }
        _ = timeout => {
            stop_group(pid, &mut child, spec.grace).await;
            Ended::TimedOut
        }
        _ = cancelled => {
            stop_group(pid, &mut child, spec.grace).await;
            Ended::Cancelled
        }
    };
    // A process left in the background may hold stdout open; do not wait on it.
    let last_line = match tokio::time::timeout(Duration::from_secs(2), reader).await {
        Ok(Ok(last)) => last,
        _ => None,
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), err_reader).await;
    Ok(Outcome {
        ended,
        last_line,
        pgid: pid,
    })
}

/// `program` as a path: a name is looked for in the `PATH` of `env` (the
/// process's own environment) as `execvp` would; one not found stays a name
/// (spawning it then fails as before, "not found").
fn resolve(program: &std::path::Path, env: &[(String, String)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if program.as_os_str().is_empty() || program.components().count() > 1 {
        return program.to_path_buf();
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| program.to_path_buf())
}

/// SIGKILLs the group recorded in `path` (if any process of it lives) and forgets it.
/// A file that cannot be read or a kill that fails is logged with the file: the
/// group may still be running.
pub fn kill_recorded_group(path: &std::path::Path) {
    let recorded = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot read a recorded process group, so it is not stopped: {e}");
            String::new()
        }
    };
    // Empty: the attempt that used this file ended and truncated it.
    let recorded = recorded.trim();
    if !recorded.is_empty() {
        match recorded.parse::<i32>() {
            Ok(pgid) if group_alive(pgid) => {
                tracing::warn!(
                    pgid,
                    "stopping a process group left by an earlier run of this attempt"
                );
                match killpg(Pid::from_raw(pgid), Signal::SIGKILL) {
                    // ESRCH: the group ended on its own meanwhile.
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => tracing::warn!(
                        pgid,
                        file = %path.display(),
                        "cannot stop a process group left by an earlier run: {e}"
                    ),
                }
            }
            Ok(_) => {}
            Err(_) => tracing::warn!(
                file = %path.display(),
                "a recorded process group is not a number ({recorded:?}), so it is not stopped"
            ),
        }
    }
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(file = %path.display(), "cannot remove a recorded process group: {e}");
        }
    }
}

/// SIGTERM to the group, SIGKILL to whatever is left after `grace`.
/// A signal or a wait that fails is logged with the group: something may still
/// run that should not.
async fn stop_group(pgid: i32, child: &mut tokio::process::Child, grace: Duration) {
    if pgid <= 0 {
        if let Err(e) = child.kill().await {
            tracing::warn!("cannot kill an attempt's process: {e}");
        }
        return;
    }
    let group = Pid::from_raw(pgid);
    signal_group(group, Signal::SIGTERM);
    let exited = tokio::time::timeout(grace, child.wait()).await.is_ok();
    // Children of the leader may outlive it: the group is killed either way.
    signal_group(group, Signal::SIGKILL);
    if !exited {
        if let Err(e) = child.wait().await {
            tracing::warn!(pgid, "cannot wait for an attempt's killed process: {e}");
        }
    }
}

/// Sends `signal` to a group. ESRCH (no process left in it) is the group
/// having ended, not a failure.
fn signal_group(group: Pid, signal: Signal) {
    match killpg(group, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(
            pgid = group.as_raw(),
            "cannot send {signal} to an attempt's process group: {e}"
        ),
    }
}

/// Whether any process of group `pgid` is still alive. Zombies do not count: an
/// orphan killed with its group waits for PID 1 to reap it, and in a container
/// PID 1 may never do so.
pub fn group_alive(pgid: i32) -> bool {
    if pgid <= 0 || killpg(Pid::from_raw(pgid), None).is_err() {
        return false;
    }
    // Without /proc, the group counts as alive: killpg found a process in it.
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        // A process that ended since /proc was listed (or an entry that is no
        // process) is not in the group.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid) && state != Some("Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bash(dir: &std::path::Path, script: &str, timeout: Option<Duration>) -> Spec {
        Spec {
            program: "bash".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_path_buf(),
            env: vec![
                ("GREETING".into(), "hello".into()),
                ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ],
            log: dir.join("attempt.log"),
            masker: Masker::default(),
            run_as: None,
            pgid_file: Some(dir.join("attempt.pgid")),
            timeout,
            grace: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn output_goes_to_the_log_and_the_last_line_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, rx) = watch::channel(false);
        let spec = bash(
            dir.path(),
            "echo $GREETING; echo oops >&2; echo last; exit 3",
            None,
        );
        let out = run(&spec, rx).await.unwrap();
        assert_eq!(out.ended, Ended::Exited(3));
        assert_eq!(out.last_line.as_deref(), Some("last"));
        let log = std::fs::read_to_string(dir.path().join("attempt.log")).unwrap();
        assert!(
            log.contains("hello") && log.contains("oops") && log.contains("last"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn a_secret_written_in_two_pieces_is_masked_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, rx) = watch::channel(false);
        let secrets = crate::mask::Secrets::new();
        secrets.add("hunter22-long", false);
        let mut spec = bash(
            dir.path(),
            "printf 'pw=hunter'; sleep 0.2; printf '22-long\\n'; echo 'err hunter22-long' >&2",
            None,
        );
        spec.masker = secrets.masker();
        let out = run(&spec, rx).await.unwrap();
        assert_eq!(out.ended, Ended::Exited(0));
        let log = std::fs::read_to_string(dir.path().join("attempt.log")).unwrap();
        assert!(log.contains("pw=***") && log.contains("err ***"), "{log}");
        assert!(!log.contains("hunter"), "{log}");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group_even_when_it_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, rx) = watch::channel(false);
        // The shell ignores SIGTERM and has a child of its own.
        let spec = bash(
            dir.path(),
            "trap '' TERM; sleep 600 & sleep 600",
            Some(Duration::from_millis(200)),
        );
        let started = std::time::Instant::now();
        let out = run(&spec, rx).await.unwrap();
        assert_eq!(out.ended, Ended::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !group_alive(out.pgid),
            "the process group outlived the timeout"
        );
    }

    #[tokio::test]
    async fn a_recorded_group_is_killed_by_a_later_life_of_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, rx) = watch::channel(false);
        let spec = bash(dir.path(), "sleep 600 & sleep 600", None);
        let handle = tokio::spawn(async move { run(&spec, rx).await });
        let pgid_file = dir.path().join("attempt.pgid");
        while !pgid_file.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        kill_recorded_group(&pgid_file);
        let out = handle.await.unwrap().unwrap();
        assert_eq!(out.ended, Ended::Signalled(9));
        assert!(!group_alive(out.pgid));
        assert!(!pgid_file.exists());
    }

    #[test]
    fn a_blank_or_garbled_group_file_stops_nothing_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("blank.pgid", ""), ("garbled.pgid", "not a group\n")] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            kill_recorded_group(&path);
            assert!(!path.exists(), "{name} was left behind");
        }
        // A file that is not there is nothing to do.
        kill_recorded_group(&dir.path().join("absent.pgid"));
    }

    #[tokio::test]
    async fn cancelling_stops_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = watch::channel(false);
        let spec = bash(dir.path(), "sleep 600", None);
        let handle = tokio::spawn(async move { run(&spec, rx).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(true).unwrap();
        let out = handle.await.unwrap().unwrap();
        assert_eq!(out.ended, Ended::Cancelled);
        assert!(!group_alive(out.pgid));
    }
}
