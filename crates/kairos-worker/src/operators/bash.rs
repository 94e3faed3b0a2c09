//! BashOperator: `bash -c` of the rendered command (or of a shipped script, rendered
//! as a template, as Airflow does), with `env` / `append_env` / `cwd`; exit codes in
//! `skip_on_exit_code` skip; the last line of stdout is the `return_value` XCom.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kairos_dag::operator::{BashCommand, BashOperator};

use super::{Ctx, Report, unclean};
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
            let path = ctx.file(file).await?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read script `{file}`: {e}"))?;
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
}

/// The process spec of a rendered command.
pub fn spec(ctx: &Ctx<'_>, rendered: &Rendered, append_env: bool) -> process::Spec {
    let mut spec = ctx.process_spec(
        PathBuf::from("bash"),
        vec!["-c".into(), rendered.command.clone()],
    );
    if let Some(env) = &rendered.env {
        // Airflow: `env` replaces the worker's environment unless `append_env`.
        spec.clear_env = !append_env;
        spec.env
            .extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(cwd) = &rendered.cwd {
        spec.cwd = PathBuf::from(cwd);
    }
    spec
}

pub async fn run(ctx: &Ctx<'_>, op: &BashOperator) -> Report {
    let rendered = match render(ctx, &op.command, &op.env, &op.cwd).await {
        Ok(r) => r,
        Err(e) => return Report::failed(e),
    };
    // The template, not the rendered command: rendering may have put Variable
    // values (secrets) into it, and the log's tail is replicated.
    let template = match &op.command {
        BashCommand::Inline { command } => command.clone(),
        BashCommand::Script { file } => format!("(script {file})"),
    };
    ctx.note(&format!("running: bash -c {template:?} (rendered)"));
    let spec = spec(ctx, &rendered, op.append_env);
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
