//! The execution environments this worker carries, probed once at start: each
//! one's interpreter is run to learn its Python version and installed packages,
//! which registration reports so that the scheduler sends a task naming an
//! environment only to a worker that has it. A configured environment that does
//! not run stops the worker at start, naming it; nothing fails later, mid-task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kairos_proto::v1::WorkerEnvironment;
use serde::Deserialize;

/// The environment tasks that name none run in.
pub const DEFAULT: &str = "python3";

/// How long one interpreter may take to answer the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Prints the interpreter's version and its installed distributions as JSON.
const PROBE: &str = r#"
import json, platform, sys
try:
    from importlib import metadata
    names = set()
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            names.add(f"{name}=={d.version}")
    packages = sorted(names, key=str.lower)
except Exception:
    packages = []
print(json.dumps({"version": platform.python_version(), "packages": packages}))
"#;

/// One environment as probed.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    /// The interpreter tasks of this environment run with.
    pub python: PathBuf,
    /// `platform.python_version()`; empty when the implicit `python3` could not
    /// be probed.
    pub python_version: String,
    /// `name==version`, sorted.
    pub packages: Vec<String>,
}

impl Environment {
    pub fn to_proto(&self) -> WorkerEnvironment {
        WorkerEnvironment {
            name: self.name.clone(),
            python_version: self.python_version.clone(),
            packages: self.packages.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Probed {
    version: String,
    packages: Vec<String>,
}

/// Probes every configured environment (an error names the first that does not
/// run, and how to fix it), then the implicit `python3` from `PATH` when none is
/// configured under that name (a failure there is only a warning: a worker may
/// run bash tasks alone).
pub async fn probe_all(envs: &BTreeMap<String, PathBuf>) -> Result<Vec<Environment>, String> {
    let mut out = Vec::with_capacity(envs.len() + 1);
    for (name, python) in envs {
        let probed = probe(python).await.map_err(|why| {
            format!(
                "execution environment `{name}` ({}) does not work: {why}; fix the environment or its path in --environment {name}=PATH (a virtualenv's folder or a Python interpreter)",
                python.display()
            )
        })?;
        out.push(Environment {
            name: name.clone(),
            python: python.clone(),
            python_version: probed.version,
            packages: probed.packages,
        });
    }
    if !envs.contains_key(DEFAULT) {
        let python = PathBuf::from(DEFAULT);
        let (python_version, packages) = match probe(&python).await {
            Ok(p) => (p.version, p.packages),
            Err(why) => {
                tracing::warn!(%why, "python3 from PATH does not run: Python tasks will fail here; give --environment python3=PATH");
                (String::new(), Vec::new())
            }
        };
        out.push(Environment {
            name: DEFAULT.to_string(),
            python,
            python_version,
            packages,
        });
    }
    Ok(out)
}

/// Runs the probe with `python`, in a clean environment (as tasks run).
async fn probe(python: &Path) -> Result<Probed, String> {
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-c", PROBE])
        .current_dir("/")
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| k == "PATH" || k == "LANG"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PROBE_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("it did not answer within {} s", PROBE_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim();
        return Err(format!("it exited with {} ({last})", output.status));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "it printed no version (is it Python 3.8 or newer?): {e}: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn python3_reports_its_version_and_packages() {
        let envs = BTreeMap::from([("sys".to_string(), PathBuf::from("python3"))]);
        let found = probe_all(&envs).await.unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "sys");
        assert!(found[0].python_version.starts_with("3."), "{found:?}");
        assert_eq!(found[1].name, DEFAULT);
        assert!(found[0].packages.iter().all(|p| p.contains("==")));
    }

    #[tokio::test]
    async fn a_broken_environment_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope/bin/python");
        let envs = BTreeMap::from([("etl".to_string(), missing)]);
        let err = probe_all(&envs).await.unwrap_err();
        assert!(
            err.contains("execution environment `etl`") && err.contains("--environment etl="),
            "{err}"
        );
        let fake = dir.path().join("python");
        std::fs::write(&fake, "#!/bin/sh\necho not python\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let envs = BTreeMap::from([("fake".to_string(), fake)]);
        let err = probe_all(&envs).await.unwrap_err();
        assert!(
            err.contains("`fake`") && err.contains("printed no version"),
            "{err}"
        );
    }
}
