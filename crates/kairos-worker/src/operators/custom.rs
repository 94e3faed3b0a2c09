//! A custom operator class from the DAG's bundle (`operator:
//! my_pkg.operators.MakeBreadOperator`), run through the Python runner in two
//! calls, so that its templated fields are rendered by Kairos's own renderer
//! (with the attempt's real context: XComs and Variables asked of the cluster):
//!
//! 1. `template_fields`: the runner imports the class, constructs it with the
//!    task's arguments as written (Airflow constructs operators before
//!    rendering too) and answers its `template_fields` with the JSON value of
//!    each of those attributes;
//! 2. those values are rendered here, as Airflow renders them (every string
//!    inside lists and dicts, recursively; a lone `{{ expr }}` keeps its type
//!    with `render_template_as_native_obj`);
//! 3. `execute`: the runner constructs the operator again, sets the rendered
//!    attributes and calls `execute(context)`. Its return value is the
//!    `return_value` XCom.
//!
//! The first call costs one more interpreter start per attempt; it runs under
//! the same environment, timeout and cancellation as the second. A sensor class
//! (one with `poke`, as Airflow's `BaseSensorOperator`) is poked instead of
//! executed: step 3 becomes one `poke(context)` per runner call, as often as
//! the built-in sensors poke.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use kairos_dag::duration::Duration;
use kairos_dag::operator::{SensorArgs, SensorMode};

use super::python::{Called, read_result, run_runner, stage_runner};
use super::sensor::{Poke, poke_until};
use super::{Ctx, Report, unclean};
use crate::process::Ended;

/// What the first call learned of the class.
#[derive(Debug, PartialEq)]
struct TemplateFields {
    /// In the class's order.
    fields: Vec<String>,
    /// Each field's value after `__init__`, when it had one that is JSON.
    values: Map<String, Json>,
    /// A sensor's poke settings (seconds), when the class has `poke`.
    sensor: Option<Json>,
}

fn parse_template_fields(text: &str) -> Result<TemplateFields, String> {
    let v: Json =
        serde_json::from_str(text).map_err(|e| format!("the runner's answer is not JSON: {e}"))?;
    let fields = v["template_fields"]
        .as_array()
        .ok_or("the runner's answer has no template_fields")?
        .iter()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    let values = v["values"].as_object().cloned().unwrap_or_default();
    let sensor = v.get("sensor").filter(|s| s.is_object()).cloned();
    Ok(TemplateFields {
        fields,
        values,
        sensor,
    })
}

/// The BaseOperator settings a custom operator's constructor may take.
fn base_kwargs(ctx: &Ctx<'_>) -> Json {
    let task = &ctx.attempt.task;
    json!({
        "owner": task.owner,
        "retries": task.retries,
        "queue": task.queue,
        "pool": task.pool,
        "do_xcom_push": task.do_xcom_push,
        "params": kairos_dag::template::effective_params(&ctx.attempt.dag, task, &ctx.attempt.run.conf),
    })
}

pub async fn run(ctx: &Ctx<'_>, class: &str, args: &BTreeMap<String, Json>) -> Report {
    let runner = match stage_runner(ctx) {
        Ok(path) => path,
        Err(e) => return Report::failed(e),
    };
    // Arguments under secret-looking names (`password: ...`) are masked in the
    // log, as op_kwargs are.
    ctx.secrets.add_named_in(&json!(args));
    let base = json!({
        "class": class,
        "task_id": ctx.attempt.ti.task_id,
        "args": args,
        "base_kwargs": base_kwargs(ctx),
        "sys_path": ctx.sys_path(),
        "context": ctx.attempt.python_context(),
    });

    // 1. The class's template fields and their values.
    let mut spec = base.clone();
    spec["mode"] = json!("template_fields");
    let fields = match run_runner(ctx, &runner, spec).await {
        Err(report) => return report,
        Ok((Ended::Exited(0), result, _)) => {
            match crate::private_file::read_to_string(&result)
                .map_err(|e| format!("the runner wrote no template fields: {e}"))
                .and_then(|text| parse_template_fields(&text))
            {
                Ok(f) => f,
                Err(e) => return Report::failed(e),
            }
        }
        Ok((Ended::Exited(99), ..)) => {
            return Report::skipped(format!(
                "{class} raised AirflowSkipException when constructed"
            ));
        }
        Ok((Ended::Exited(code), ..)) => {
            return Report::failed(format!(
                "{class} could not be imported or constructed (exit code {code}; the traceback \
                 and the import path are in the log)"
            ));
        }
        Ok((ended, _, timeout)) => return unclean(&ended, timeout),
    };

    // 2. Rendered by Kairos, with the attempt's context.
    let to_render = fields.values.clone();
    let rendered = match ctx
        .render(move |t| {
            to_render
                .iter()
                .map(|(field, value)| Ok((field.clone(), t.json(field, value)?)))
                .collect::<Result<Map<String, Json>, String>>()
        })
        .await
    {
        Ok(r) => Json::Object(r),
        Err(e) => return Report::failed(e),
    };
    // Values under secret-looking names are masked in the log.
    ctx.secrets.add_named_in(&rendered);
    if !fields.fields.is_empty() {
        ctx.note(&format!(
            "rendered template fields of {class}: {}",
            fields.fields.join(", ")
        ));
    }

    // 3. execute(context).
    let (upstream, xcoms) = match ctx.upstream_xcoms().await {
        Ok(pulled) => pulled,
        Err(e) => return Report::failed(e),
    };
    let mut spec = base;
    spec["mode"] = json!("execute");
    spec["rendered"] = rendered;
    spec["xcom_upstream"] = json!(upstream);
    spec["xcoms"] = json!(xcoms);
    if let Some(settings) = &fields.sensor {
        return poke(ctx, class, &runner, spec, settings).await;
    }
    let called = match run_runner(ctx, &runner, spec).await {
        Err(report) => return report,
        Ok((Ended::Exited(0), result, _)) => read_result(&result),
        Ok((Ended::Exited(99), ..)) => Called::Skipped,
        Ok((Ended::Exited(97), ..)) => Called::Failed(Report {
            no_retry: true,
            ..Report::failed(format!(
                "{class}.execute raised AirflowFailException: failed without retrying (see the log)"
            ))
        }),
        Ok((Ended::Exited(98), ..)) => Called::Failed(Report::failed(format!(
            "{class}.execute returned a value that is not JSON-serializable (see the log)"
        ))),
        Ok((Ended::Exited(code), ..)) => Called::Failed(Report::failed(format!(
            "{class}.execute raised an exception, or the class could not be loaded (exit code \
             {code}; the traceback is in the log)"
        ))),
        Ok((ended, _, timeout)) => Called::Failed(unclean(&ended, timeout)),
    };
    match called {
        Called::Returned(value) => {
            let mut report = Report::success();
            if ctx.attempt.task.do_xcom_push && !value.is_null() {
                report.xcoms.push(("return_value".into(), value));
            }
            report
        }
        Called::Skipped => Report::skipped(format!("{class} raised AirflowSkipException")),
        Called::Failed(report) => report,
    }
}

/// A sensor class of the bundle (Airflow's `BaseSensorOperator`): its
/// `poke(context)` called as the built-in sensors poke, every `poke_interval`
/// in the slot or once per attempt in `reschedule` mode; a `PokeReturnValue`'s
/// `xcom_value` is the `return_value` XCom.
async fn poke(
    ctx: &Ctx<'_>,
    class: &str,
    runner: &std::path::Path,
    mut spec: Json,
    settings: &Json,
) -> Report {
    let args = sensor_args(settings);
    spec["mode"] = json!("poke");
    spec["show_return_value"] = json!(false);
    let xcom = std::sync::Mutex::new(None::<Json>);
    let poke_once = || async {
        let called = match run_runner(ctx, runner, spec.clone()).await {
            Err(report) => return Poke::End(report),
            Ok((Ended::Exited(0), result, _)) => read_result(&result),
            Ok((Ended::Exited(99), ..)) => Called::Skipped,
            Ok((Ended::Exited(97), ..)) => {
                return Poke::End(Report {
                    no_retry: true,
                    ..Report::failed(format!(
                        "{class}.poke raised AirflowFailException: failed without retrying"
                    ))
                });
            }
            Ok((Ended::Exited(code), ..)) => {
                return Poke::End(Report::failed(format!(
                    "{class}.poke raised an exception (exit code {code}; the traceback is in \
                     the log)"
                )));
            }
            Ok((ended, _, timeout)) => return Poke::End(unclean(&ended, timeout)),
        };
        match called {
            Called::Returned(answer) if answer["done"] == json!(true) => {
                if let Ok(mut kept) = xcom.lock() {
                    *kept = Some(answer["xcom_value"].clone()).filter(|v| !v.is_null());
                }
                Poke::Done
            }
            Called::Returned(_) => Poke::NotYet,
            Called::Skipped => Poke::End(Report::skipped(format!(
                "{class}.poke raised AirflowSkipException"
            ))),
            Called::Failed(report) => Poke::End(report),
        }
    };
    let mut report = poke_until(ctx, &args, poke_once).await;
    let value = xcom.lock().ok().and_then(|mut v| v.take());
    if let (true, Some(value)) = (report.state == "success", value) {
        if ctx.attempt.task.do_xcom_push {
            report.xcoms.push(("return_value".into(), value));
        }
    }
    report
}

/// The runner's poke settings (seconds) as the built-in sensors' arguments.
fn sensor_args(settings: &Json) -> SensorArgs {
    let duration = |key: &str, default: f64| {
        let secs = settings[key].as_f64().unwrap_or(default).max(0.0);
        Duration::from_millis((secs * 1000.0) as u64)
    };
    SensorArgs {
        poke_interval: duration("poke_interval", 60.0),
        timeout: duration("timeout", 7.0 * 24.0 * 3600.0),
        mode: if settings["mode"] == json!("reschedule") {
            SensorMode::Reschedule
        } else {
            SensorMode::Poke
        },
        soft_fail: settings["soft_fail"] == json!(true),
        exponential_backoff: settings["exponential_backoff"] == json!(true),
        max_wait: settings["max_wait"]
            .as_f64()
            .map(|s| Duration::from_millis((s.max(0.0) * 1000.0) as u64)),
        deferrable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_call_answers_fields_and_values() {
        let got = parse_template_fields(
            r#"{"template_fields": ["bread_type", "extras"], "values": {"bread_type": "{{ ds }}"}}"#,
        )
        .unwrap();
        assert_eq!(got.fields, vec!["bread_type", "extras"]);
        assert_eq!(got.values["bread_type"], json!("{{ ds }}"));
        assert!(parse_template_fields("{}").is_err());
    }
}
