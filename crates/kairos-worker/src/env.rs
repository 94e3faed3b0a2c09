//! The environment an attempt's process starts with. Nothing of the worker's
//! environment is inherited (it may hold `KAIROS_*` secrets, token and key
//! paths): only the variables named here, then the attempt's own
//! (`AIRFLOW_CTX_*`, `KAIROS_*`, `KAIROS_XCOM_FILE`) and what the DAG declares
//! (`env`). docs/security-worker.md lists them.

use crate::run_as::RunAs;

/// Taken from the worker's environment when set (`LC_*` too): what programs
/// need to find commands and read and print text the way the host does.
pub const PASSED: [&str; 4] = ["PATH", "LANG", "LANGUAGE", "TZ"];

/// The PATH when the worker has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The host part of an attempt's environment: [`PASSED`] and `LC_*` from the
/// worker, `HOME` (the worker's, or the `--run-as` user's home) and, with
/// `--run-as`, `USER` and `LOGNAME`.
pub fn base(run_as: Option<&RunAs>) -> Vec<(String, String)> {
    base_from(std::env::vars_os(), run_as)
}

fn base_from(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    run_as: Option<&RunAs>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        // A name or value that is not UTF-8 is not passed on.
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            PASSED.contains(&k.as_str())
                || k.starts_with("LC_")
                || (k == "HOME" && run_as.is_none())
        })
        .collect();
    if !out.iter().any(|(k, _)| k == "PATH") {
        out.push(("PATH".into(), DEFAULT_PATH.into()));
    }
    if let Some(user) = run_as {
        out.push(("HOME".into(), user.home.display().to_string()));
        out.push(("USER".into(), user.name.clone()));
        out.push(("LOGNAME".into(), user.name.clone()));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_variables_pass_and_the_worker_secrets_stay() {
        let vars = [
            ("PATH", "/bin"),
            ("HOME", "/root"),
            ("LC_ALL", "C.UTF-8"),
            ("TZ", "UTC"),
            ("KAIROS_WORKER_TOKEN", "s3cret"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        let env = base_from(vars.into_iter(), None);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["HOME", "LC_ALL", "PATH", "TZ"]);
        let env = base_from(std::iter::empty(), None);
        assert_eq!(env, vec![("PATH".into(), DEFAULT_PATH.into())]);
    }
}
