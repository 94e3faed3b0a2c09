//! BashOperator and BashSensor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::args::Args;
use super::files::FileSet;
use super::sensor::SensorArgs;

/// Airflow treats a `bash_command` ending in one of these as the path of a Jinja
/// template file (`BashOperator.template_ext`); Kairos ships that file with the version.
pub const SCRIPT_EXTENSIONS: [&str; 2] = [".sh", ".bash"];

/// What `bash -c` runs: a command line, or a script file shipped with the DAG version
/// (rendered as a template, like Airflow does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BashCommand {
    Inline { command: String },
    Script { file: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BashOperator {
    pub command: BashCommand,
    /// Replaces the environment when set (unless `append_env`).
    pub env: Option<BTreeMap<String, String>>,
    pub append_env: bool,
    pub cwd: Option<String>,
    /// Exit codes that mark the task skipped instead of failed (Airflow's default: 99).
    pub skip_on_exit_code: Vec<i32>,
    pub output_encoding: String,
}

/// True when Airflow would read `command` as a template file path.
pub fn is_script_path(command: &str) -> bool {
    SCRIPT_EXTENSIONS.iter().any(|ext| command.ends_with(ext))
}

impl BashOperator {
    pub(super) fn parse(a: &mut Args<'_>, files: &dyn FileSet) -> Option<BashOperator> {
        let command = a.required_string("bash_command", "\"echo hello\"");
        let env = a.string_map("env");
        let append_env = a.bool("append_env", false);
        let cwd = a.string("cwd");
        let skip_on_exit_code = exit_codes(a);
        let output_encoding = a
            .string("output_encoding")
            .unwrap_or_else(|| "utf-8".into());
        let command = command?;
        if command.trim().is_empty() {
            a.error("bash_command", "`bash_command` is empty", None);
            return None;
        }
        let command = if is_script_path(&command) {
            if !files.contains_file(&command) {
                a.error(
                    "bash_command",
                    format!(
                        "`bash_command` ends in .sh/.bash, so (as in Airflow) it names a script \
                         file, but `{command}` was not found next to the DAG file"
                    ),
                    Some(
                        "put the script in the DAG file's folder, or add a trailing space to run \
                         the text as a command"
                            .into(),
                    ),
                );
                return None;
            }
            BashCommand::Script { file: command }
        } else {
            BashCommand::Inline { command }
        };
        Some(BashOperator {
            command,
            env,
            append_env,
            cwd,
            skip_on_exit_code,
            output_encoding,
        })
    }
}

/// `skip_on_exit_code`: a number, a list of numbers, or null for "never skip".
fn exit_codes(a: &mut Args<'_>) -> Vec<i32> {
    const KEY: &str = "skip_on_exit_code";
    // Written as null: never skip. Not written at all: Airflow's default, 99.
    let written = a.is_written(KEY);
    match a.json(KEY) {
        None if written => Vec::new(),
        None => vec![99],
        Some(serde_json::Value::Number(n)) => {
            match n.as_i64().and_then(|v| i32::try_from(v).ok()) {
                Some(code) => vec![code],
                None => {
                    a.error(KEY, format!("`{KEY}` must be a whole number"), None);
                    vec![99]
                }
            }
        }
        Some(serde_json::Value::Array(items)) => {
            let codes: Option<Vec<i32>> = items
                .iter()
                .map(|v| v.as_i64().and_then(|v| i32::try_from(v).ok()))
                .collect();
            codes.unwrap_or_else(|| {
                a.error(
                    KEY,
                    format!("`{KEY}` must be a list of whole numbers"),
                    None,
                );
                vec![99]
            })
        }
        Some(_) => {
            a.error(
                KEY,
                format!("`{KEY}` must be a number, a list of numbers, or null"),
                None,
            );
            vec![99]
        }
    }
}

/// BashSensor: pokes `bash_command` until it exits 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BashSensor {
    pub bash_command: String,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    /// An exit code that fails the sensor instead of poking again.
    pub retry_exit_code: Option<i32>,
    pub output_encoding: String,
    pub sensor: SensorArgs,
}

impl BashSensor {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<BashSensor> {
        let bash_command = a.required_string("bash_command", "\"test -f /data/ready\"");
        let env = a.string_map("env");
        let cwd = a.string("cwd");
        let retry_exit_code = a.int("retry_exit_code").and_then(|v| i32::try_from(v).ok());
        let output_encoding = a
            .string("output_encoding")
            .unwrap_or_else(|| "utf-8".into());
        let sensor = SensorArgs::parse(a);
        Some(BashSensor {
            bash_command: bash_command?,
            env,
            cwd,
            retry_exit_code,
            output_encoding,
            sensor: sensor?,
        })
    }
}
