//! A bundle's own packages as a virtualenv layered on an execution environment:
//! built once per worker from the bundle's lock file and wheels (offline: pip
//! never sees an index), cached under a key that changes whenever anything that
//! went into it changes, and never used half-built. Tasks never install at run
//! time; the bundles work calls [`ensure`] before a bundle's first task.
//!
//! **Layering.** The new venv is made by the base environment's interpreter
//! (`python -m venv`), and a `.pth` file in its `site-packages` appends the base
//! environment's `site-packages` to `sys.path`. `--system-site-packages` would
//! not do: when the base is itself a virtualenv it exposes the *system*
//! Python's packages, not the base venv's. The `.pth` file is written before pip
//! runs, so requirements the base already satisfies are not installed again;
//! the layer's own `site-packages` comes first on `sys.path`, so a version the
//! lock pins wins over the base's (pip installs it into the layer and never
//! touches the base, which lies outside the environment it installs into).
//!
//! **Key.** SHA-256 of the base interpreter's path, its Python version, the lock
//! text and every wheel's name and content hash (sorted by name). The venv is
//! `<cache_dir>/<key>/`; `<key>.lock` (an exclusive `flock`) makes concurrent
//! callers build it once, and `<key>/kairos-ready` (written last) marks it whole:
//! a folder without it (a build that was killed) is removed and built again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{Flock, FlockArg};
use serde::Deserialize;

/// Written last into a finished venv.
const READY: &str = "kairos-ready";
/// The `.pth` file that layers the venv on its base.
const BASE_PTH: &str = "_kairos_base.pth";

/// What the base interpreter says of itself.
const DESCRIBE: &str = r#"
import json, platform, sys, sysconfig
p = sysconfig.get_paths()
print(json.dumps({"version": platform.python_version(), "purelib": p["purelib"], "platlib": p["platlib"]}))
"#;

#[derive(Deserialize)]
struct Base {
    version: String,
    purelib: String,
    platlib: String,
}

/// The Python of the venv layering `lock_text` (a pip requirements file,
/// normally pinned) installed from `wheels` (file name, bytes) on the
/// environment whose interpreter is `base`, building it under `cache_dir` unless
/// it is there already. Blocking (it runs `python -m venv` and pip): call it from
/// a blocking thread. The error says what failed and, when pip could not install
/// a package, which one.
pub fn ensure(
    base: &Path,
    lock_text: &str,
    wheels: &[(String, Vec<u8>)],
    cache_dir: &Path,
) -> Result<PathBuf, String> {
    for (name, _) in wheels {
        if !is_wheel_name(name) {
            return Err(format!(
                "{name:?} is not a wheel's file name: wheels are `NAME-VERSION-...-PLATFORM.whl` files directly in the bundle's wheels folder"
            ));
        }
    }
    let info = describe(base)?;
    let key = key(base, &info.version, lock_text, wheels);
    std::fs::create_dir_all(cache_dir).map_err(|e| {
        format!(
            "cannot create the layered environments' folder {}: {e}",
            cache_dir.display()
        )
    })?;
    let venv = cache_dir.join(&key);
    let python = venv.join("bin").join("python");
    if venv.join(READY).exists() {
        return Ok(python);
    }
    let lock_path = cache_dir.join(format!("{key}.lock"));
    let file = File::create(&lock_path)
        .map_err(|e| format!("cannot create the lock {}: {e}", lock_path.display()))?;
    let _held = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another caller may have built it while this one waited for the lock.
    if venv.join(READY).exists() {
        return Ok(python);
    }
    build(base, &info, &venv, lock_text, wheels).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&venv);
    })?;
    Ok(python)
}

fn build(
    base: &Path,
    info: &Base,
    venv: &Path,
    lock_text: &str,
    wheels: &[(String, Vec<u8>)],
) -> Result<(), String> {
    if venv.exists() {
        // Half-built by a caller that died: never used, built again.
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove the unfinished {}: {e}", venv.display()))?;
    }
    run(
        Command::new(base).arg("-m").arg("venv").arg(venv),
        &format!("creating a virtualenv with {}", base.display()),
    )?;
    let python = venv.join("bin").join("python");
    let site = site_packages(&python)?;
    let mut lines = vec![info.purelib.clone()];
    if info.platlib != info.purelib {
        lines.push(info.platlib.clone());
    }
    write(&site.join(BASE_PTH), &(lines.join("\n") + "\n"))?;
    let inputs = venv.join("kairos-inputs");
    let wheel_dir = inputs.join("wheels");
    std::fs::create_dir_all(&wheel_dir)
        .map_err(|e| format!("cannot create {}: {e}", wheel_dir.display()))?;
    for (name, bytes) in wheels {
        std::fs::write(wheel_dir.join(name), bytes)
            .map_err(|e| format!("cannot write the wheel {name}: {e}"))?;
    }
    let lock = inputs.join("requirements.lock");
    write(&lock, lock_text)?;
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .arg("--find-links")
        .arg(&wheel_dir)
        .arg("-r")
        .arg(&lock)
        // Offline and hermetic: no index, no pip.conf, no extra links.
        .env("PIP_NO_INDEX", "1")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PYTHONPATH")
        .output()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !output.status.success() {
        return Err(pip_failure(
            &String::from_utf8_lossy(&output.stderr),
            &String::from_utf8_lossy(&output.stdout),
        ));
    }
    write(&venv.join(READY), "")
}

/// pip's failure, naming the package it could not install when it says which.
fn pip_failure(stderr: &str, stdout: &str) -> String {
    let all = format!("{stdout}\n{stderr}");
    let named = all.lines().find_map(|line| {
        let line = line.trim();
        [
            "No matching distribution found for ",
            "Could not find a version that satisfies the requirement ",
        ]
        .iter()
        .find_map(|marker| line.split_once(marker).map(|(_, rest)| rest))
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest).to_string())
    });
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(5)..].join(" | ");
    match named {
        Some(package) => format!(
            "package `{package}` cannot be installed: no wheel for it in the bundle's wheels folder satisfies the lock (pip never uses an index here; add the wheel, or build it with `pip wheel -w wheels/ {package}`): {tail}"
        ),
        None => format!("pip could not install the bundle's requirements: {tail}"),
    }
}

/// The cache key (hex SHA-256).
fn key(base: &Path, version: &str, lock_text: &str, wheels: &[(String, Vec<u8>)]) -> String {
    let mut sorted: Vec<&(String, Vec<u8>)> = wheels.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = format!(
        "base {}\nversion {version}\nlock {}\n",
        base.display(),
        kairos_dag::version::content_hash(lock_text.as_bytes())
    );
    for (name, bytes) in sorted {
        text.push_str(&format!(
            "wheel {name} {}\n",
            kairos_dag::version::content_hash(bytes)
        ));
    }
    let hash = kairos_dag::version::content_hash(text.as_bytes());
    hash.trim_start_matches("sha256:").to_string()
}

fn is_wheel_name(name: &str) -> bool {
    name.ends_with(".whl")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '!'))
}

fn describe(base: &Path) -> Result<Base, String> {
    let output = Command::new(base)
        .args(["-c", DESCRIBE])
        .output()
        .map_err(|e| format!("cannot run the base environment's {}: {e}", base.display()))?;
    if !output.status.success() {
        return Err(format!(
            "the base environment's {} failed: {}",
            base.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{} did not describe itself: {e}", base.display()))
}

fn site_packages(python: &Path) -> Result<PathBuf, String> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || text.is_empty() {
        return Err(format!(
            "{} did not name its site-packages",
            python.display()
        ));
    }
    Ok(PathBuf::from(text))
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run it: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
