//! BashOperator: bash runs the rendered command (or a shipped script, rendered
//! as a template, as Airflow does), with `env` / `append_env` / `cwd`; exit codes in
//! `skip_on_exit_code` skip; the last line of stdout is the `return_value` XCom.
//! The command reaches bash through a private file (`bash FILE`), never through
//! its arguments: any local user can read those in /proc/PID/cmdline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kairos_dag::operator::{BashCommand, BashOperator};

use super::{Ctx, Report, unclean};
use crate::private_file;
use crate::process::{self, Ended};

/// The rendered pieces of a bash command line.
pub struct Rendered {
    pub command: String,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
}

/// Renders a bash command with its `env` and `cwd`.
pub async fn render(
    ctx: &Ctx<'_>,
    command: &BashCommand,
    env: &Option<BTreeMap<String, String>>,
    cwd: &Option<String>,
) -> Result<Rendered, String> {
    let (field, template) = match command {
        BashCommand::Inline { command } => ("bash_command", command.clone()),
        BashCommand::Script { file } => {
            let bytes = ctx.file(file).await?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("script `{file}` is not UTF-8 text"))?;
            ("bash_command", text)
        }
    };
    let (env, cwd) = (env.clone(), cwd.clone());
    ctx.render(move |t| {
        let command = t.text(field, &template)?;
        let env = match env {
            Some(env) => Some(
                env.iter()
                    .map(|(k, v)| Ok((k.clone(), t.text(&format!("env.{k}"), v)?)))
                    .collect::<Result<BTreeMap<_, _>, String>>()?,
            ),
            None => None,
        };
        let cwd = cwd.map(|c| t.text("cwd", &c)).transpose()?;
        Ok(Rendered { command, env, cwd })
    })
    .await
    .inspect(|rendered| {
        // `env: {DB_PASSWORD: ...}` is a secret by its name.
        if let Some(env) = &rendered.env {
            ctx.secrets.add_named_in(&serde_json::json!(env));
        }
    })
}

/// The process spec of a rendered command, its script written for bash to read.
pub fn spec(ctx: &Ctx<'_>, rendered: &Rendered, append_env: bool) -> Result<process::Spec, String> {
    let script = ctx.stage.join("command.sh");
    private_file::write(&script, rendered.command.as_bytes(), ctx.run_as.as_ref()).map_err(
        |e| {
            format!(
                "cannot write the command for bash to {}: {e}",
                script.display()
            )
        },
    )?;
    let mut spec = ctx.process_spec(PathBuf::from("bash"), vec![script.display().to_string()]);
    if let Some(env) = &rendered.env {
        // Airflow: `env` replaces the host environment (PATH, HOME, ...) unless
        // `append_env`; the attempt's own variables stay either way.
        if !append_env {
            spec.env = ctx.attempt_env();
        }
        spec.env
            .extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(cwd) = &rendered.cwd {
        spec.cwd = PathBuf::from(cwd);
    }
    Ok(spec)
}

pub async fn run(ctx: &Ctx<'_>, op: &BashOperator) -> Report {
    let rendered = match render(ctx, &op.command, &op.env, &op.cwd).await {
        Ok(r) => r,
        Err(e) => return Report::failed(e),
    };
    // Masked before it is quoted (quoting escapes what a secret may hold), and
    // again as every line of the log is: the Variables it read are `***`.
    ctx.note(&format!(
        "running: bash: {:?}",
        ctx.secrets.mask(&rendered.command)
    ));
    let spec = match spec(ctx, &rendered, op.append_env) {
        Ok(spec) => spec,
        Err(e) => return Report::failed(e),
    };
    let outcome = match process::run(&spec, ctx.cancel.clone()).await {
        Ok(o) => o,
        Err(e) => return Report::failed(format!("cannot start bash: {e}")),
    };
    ctx.note(&format!("process ended: {:?}", outcome.ended));
    match outcome.ended {
        Ended::Exited(0) => {
            let mut report = Report::success();
            if ctx.attempt.task.do_xcom_push {
                if let Some(line) = outcome.last_line {
                    report
                        .xcoms
                        .push(("return_value".into(), serde_json::Value::String(line)));
                }
            }
            report
        }
        Ended::Exited(code) if op.skip_on_exit_code.contains(&code) => Report::skipped(format!(
            "bash exited with code {code}, in skip_on_exit_code"
        )),
        Ended::Exited(code) => Report::failed(format!("bash exited with code {code}")),
        ended => unclean(&ended, spec.timeout),
    }
}
