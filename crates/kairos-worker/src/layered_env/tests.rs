//! The layered venv over real Pythons: a base venv the test makes, a wheel the
//! test writes, built once (also when two callers ask at once), its packages and
//! the base's both importable, and a missing package named in the error.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A pure-Python wheel `NAME-VERSION-py3-none-any.whl` whose module `NAME` holds
/// `source`, written by Python's zipfile (pip accepts RECORD without hashes).
pub(crate) fn make_wheel(dir: &Path, name: &str, version: &str, source: &str) -> PathBuf {
    let file = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let script = r#"
import sys, zipfile
path, name, version, source = sys.argv[1:5]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": source,
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: kairos-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{info}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(path, "w") as z:
    for p, text in files.items():
        z.writestr(p, text)
"#;
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .args([name, version, source])
        .status()
        .unwrap();
    assert!(status.success());
    file
}

/// A venv without pip, with a module `base_marker` in its site-packages.
fn base_venv(dir: &Path) -> PathBuf {
    let venv = dir.join("base");
    let status = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let python = venv.join("bin/python");
    let site = site_packages(&python).unwrap();
    std::fs::write(site.join("base_marker.py"), "WHERE = 'base'\n").unwrap();
    python
}

fn python_says(python: &Path, code: &str) -> String {
    let out = Command::new(python).args(["-c", code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_layer_is_built_once_and_sees_its_packages_and_the_bases() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_venv(dir.path());
    let wheel = make_wheel(dir.path(), "kairos_extra", "1.0", "VALUE = 42\n");
    let wheels = vec![(
        wheel.file_name().unwrap().to_string_lossy().into_owned(),
        std::fs::read(&wheel).unwrap(),
    )];
    let cache = dir.path().join("layers");
    let lock = "kairos_extra==1.0\n";
    // A half-built folder (a build that was killed) is built again, not used.
    let info = describe(&base).unwrap();
    let half = cache.join(key(&base, &info.version, lock, &wheels));
    std::fs::create_dir_all(half.join("bin")).unwrap();
    // Two callers at once: one builds, the other waits and gets the same venv.
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| ensure(&base, lock, &wheels, &cache));
        let two = s.spawn(|| ensure(&base, lock, &wheels, &cache));
        (one.join().unwrap(), two.join().unwrap())
    });
    let python = a.unwrap();
    assert_eq!(b.unwrap(), python);
    let said = python_says(
        &python,
        "import kairos_extra, base_marker; print(kairos_extra.VALUE, base_marker.WHERE)",
    );
    assert_eq!(said, "42 base");
    let venv = python.parent().unwrap().parent().unwrap().to_path_buf();
    let ready = std::fs::metadata(venv.join(READY))
        .unwrap()
        .modified()
        .unwrap();
    // Asked again: the same venv, not rebuilt.
    assert_eq!(ensure(&base, lock, &wheels, &cache).unwrap(), python);
    let again = std::fs::metadata(venv.join(READY))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(ready, again);
    // The base environment itself is untouched.
    let plain = python_says(
        &base,
        "import importlib.util as u; print(u.find_spec('kairos_extra') is None)",
    );
    assert_eq!(plain, "True");
    // Another lock, wheel or base is another key.
    let other_lock = key(&base, &info.version, "kairos_extra==1.0\n# v2\n", &wheels);
    let no_wheels = key(&base, &info.version, lock, &[]);
    let other_base = key(Path::new("/usr/bin/python3"), &info.version, lock, &wheels);
    let same = key(&base, &info.version, lock, &wheels);
    assert_eq!(venv.file_name().unwrap().to_string_lossy(), same);
    for other in [other_lock, no_wheels, other_base] {
        assert_ne!(other, same);
    }
}

#[test]
fn a_package_without_a_wheel_is_named_and_nothing_half_built_stays() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_venv(dir.path());
    let cache = dir.path().join("layers");
    let err = ensure(&base, "missing-pkg==2.0\n", &[], &cache).unwrap_err();
    assert!(
        err.contains("package `missing-pkg==2.0` cannot be installed"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let lock = "kairos_extra==1.0\n";
    let err = ensure(&base, lock, &[("../evil.whl".into(), vec![])], &cache).unwrap_err();
    assert!(err.contains("not a wheel's file name"), "{err}");
}
