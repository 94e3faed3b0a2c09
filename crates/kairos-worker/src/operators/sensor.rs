//! BashSensor and PythonSensor: poke until the condition holds. In `poke` mode the
//! worker keeps the slot and pokes every `poke_interval` (doubling with
//! `exponential_backoff`, up to `max_wait`) until `timeout`, then fails (or skips
//! with `soft_fail`). In `reschedule` mode one poke runs per attempt and a miss
//! reports `up_for_reschedule` with the next poke's time, giving the slot back.

use std::time::{Duration, Instant};

use kairos_dag::operator::PythonSensor;
use kairos_dag::operator::{BashCommand, BashSensor};
use kairos_dag::operator::{SensorArgs, SensorMode};

use super::python::{Called, call, truthy};
use super::{Ctx, Report, bash, unclean};
use crate::process::{self, Ended};

/// One poke: done, not yet, or an end of its own.
pub(super) enum Poke {
    Done,
    NotYet,
    End(Report),
}

async fn poke_bash(ctx: &Ctx<'_>, op: &BashSensor) -> Poke {
    let command = BashCommand::Inline {
        command: op.bash_command.clone(),
    };
    let rendered = match bash::render(ctx, &command, &op.env, &op.cwd).await {
        Ok(r) => r,
        Err(e) => return Poke::End(Report::failed(e)),
    };
    let spec = match bash::spec(ctx, &rendered, false) {
        Ok(spec) => spec,
        Err(e) => return Poke::End(Report::failed(e)),
    };
    match process::run(&spec, ctx.cancel.clone()).await {
        Ok(out) => match out.ended {
            Ended::Exited(0) => Poke::Done,
            // Airflow: with retry_exit_code set, only that code means "not yet".
            Ended::Exited(code) if op.retry_exit_code.is_none_or(|c| c == code) => Poke::NotYet,
            Ended::Exited(code) => Poke::End(Report::failed(format!(
                "the sensor's command exited with code {code} (not retry_exit_code)"
            ))),
            ended => Poke::End(unclean(&ended, spec.timeout)),
        },
        Err(e) => Poke::End(Report::failed(format!("cannot start bash: {e}"))),
    }
}

async fn poke_python(ctx: &Ctx<'_>, op: &PythonSensor) -> Poke {
    match call(
        ctx,
        &op.callable,
        &op.op_args,
        &op.op_kwargs,
        &op.templates_dict,
        true,
    )
    .await
    {
        Called::Returned(v) if truthy(&v) => Poke::Done,
        Called::Returned(_) => Poke::NotYet,
        Called::Skipped => Poke::End(Report::skipped("the callable raised AirflowSkipException")),
        Called::Failed(report) => Poke::End(report),
    }
}

pub async fn bash(ctx: &Ctx<'_>, op: &BashSensor) -> Report {
    poke_until(ctx, &op.sensor, || poke_bash(ctx, op)).await
}

pub async fn python(ctx: &Ctx<'_>, op: &PythonSensor) -> Report {
    poke_until(ctx, &op.sensor, || poke_python(ctx, op)).await
}

pub(super) async fn poke_until<'c, F, Fut>(ctx: &Ctx<'c>, args: &SensorArgs, poke: F) -> Report
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Poke>,
{
    let started = Instant::now();
    let std = |d: kairos_dag::duration::Duration| Duration::from_millis(d.as_millis());
    let mut interval = std(args.poke_interval);
    let timeout = std(args.timeout);
    let mut pokes = 0u32;
    loop {
        pokes += 1;
        match poke().await {
            Poke::Done => {
                ctx.note(&format!("the condition holds after {pokes} poke(s)"));
                return Report::success();
            }
            Poke::End(report) => return report,
            Poke::NotYet => {}
        }
        if args.mode == SensorMode::Reschedule {
            // Airflow counts a rescheduled sensor's timeout from its first poke,
            // across reschedules (each attempt is a new process here).
            let now = chrono::Utc::now();
            let first = ctx.attempt.first_poke_at.unwrap_or(now);
            let waited = (now - first).to_std().unwrap_or_default() + started.elapsed();
            if waited + interval > timeout {
                return timed_out(ctx, args, waited, None);
            }
            let at = now + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::zero());
            ctx.note(&format!("not yet: rescheduled for {}", at.to_rfc3339()));
            return Report {
                state: "up_for_reschedule",
                reschedule_at_ms: Some(at.timestamp_millis()),
                ..Report::success()
            };
        }
        let elapsed = started.elapsed();
        if elapsed + interval > timeout {
            return timed_out(ctx, args, elapsed, Some(pokes));
        }
        ctx.note(&format!(
            "not yet; poking again in {:.1} s",
            interval.as_secs_f64()
        ));
        let mut cancel = ctx.cancel.clone();
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = cancel.wait_for(|c| *c) => return unclean(&Ended::Cancelled, None),
        }
        if args.exponential_backoff {
            let cap = args.max_wait.map_or(Duration::from_secs(3600), std);
            interval = (interval * 2).min(cap);
        }
    }
}

/// The end of a sensor whose `timeout` passed: failed, or skipped with `soft_fail`.
fn timed_out(ctx: &Ctx<'_>, args: &SensorArgs, waited: Duration, pokes: Option<u32>) -> Report {
    let pokes = pokes.map(|p| format!(" ({p} pokes)")).unwrap_or_default();
    let why = format!(
        "the sensor timed out after {} s{pokes} (timeout {} s)",
        waited.as_secs(),
        Duration::from_millis(args.timeout.as_millis()).as_secs()
    );
    ctx.note(&why);
    if args.soft_fail {
        Report::skipped(why)
    } else {
        // Airflow's AirflowSensorTimeout: failed, not retried.
        Report {
            no_retry: true,
            ..Report::failed(why)
        }
    }
}
