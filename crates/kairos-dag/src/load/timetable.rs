//! Reading `schedule` (or Airflow 2's `schedule_interval`, or dag-factory's `timetable`).
//!
//! Shapes: `null` / `None` (manual only), presets and five-field cron strings,
//! duration strings (`30m`, `1h`, `2 days`), `timedelta: {days: 3}`, dag-factory's
//! `__type__` objects for `datetime.timedelta`, `CronTriggerTimetable`,
//! `CronDataIntervalTimetable` and `DeltaDataIntervalTimetable`. Asset and dataset
//! schedules are reported as not supported yet, rather than half-accepted.

use chrono_tz::Tz;
use serde_json::Value as Json;

use super::read::read_tz;
use super::sink::{Scope, Sink};
use crate::duration::Duration;
use crate::operator::{duration_from_json, timedelta_from_json};
use crate::timetable::{CronExpr, Schedule};
use crate::yaml::{Node, Value};

const CRON_TRIGGER_TYPES: [&str; 3] = [
    "airflow.timetables.trigger.CronTriggerTimetable",
    "airflow.sdk.CronTriggerTimetable",
    "airflow.sdk.definitions.timetables.trigger.CronTriggerTimetable",
];
const CRON_INTERVAL_TYPES: [&str; 2] = [
    "airflow.timetables.interval.CronDataIntervalTimetable",
    "airflow.sdk.CronDataIntervalTimetable",
];
const DELTA_INTERVAL_TYPES: [&str; 2] = [
    "airflow.timetables.interval.DeltaDataIntervalTimetable",
    "airflow.sdk.DeltaDataIntervalTimetable",
];
const ASSET_HINT: &str = "asset- and dataset-triggered schedules are planned but not supported yet; \
                          trigger the DAG from its producer with TriggerDagRunOperator meanwhile";

/// Reads a schedule value. `dag_tz` is the DAG's zone (a `CronDataIntervalTimetable`
/// may not name another one).
pub fn read_schedule(
    node: &Node,
    key: &str,
    dag_tz: Tz,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<Schedule> {
    let fail = |sink: &mut Sink, msg: String, hint: Option<String>| {
        sink.error(scope, node.pos, msg, hint);
        None
    };
    match &node.value {
        Value::Null => Some(Schedule::None),
        Value::Str(text) => match schedule_from_str(text) {
            Ok(s) => Some(s),
            Err((msg, hint)) => fail(sink, format!("`{key}`: {msg}"), hint),
        },
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => fail(
            sink,
            format!("`{key}` cannot be {}", node.value.kind()),
            Some(
                "write a cron string (`0 3 * * *`), a preset (`@daily`), a duration (`30m`), \
                  or `timedelta: {minutes: 30}`"
                    .into(),
            ),
        ),
        Value::Seq(_) => fail(
            sink,
            format!("`{key}` as a list of assets is not supported"),
            Some(ASSET_HINT.into()),
        ),
        Value::Map(entries) => {
            let json = node.to_json();
            if let Some(td) = node.get("timedelta") {
                if entries.len() != 1 {
                    return fail(
                        sink,
                        format!("`{key}: {{timedelta: ...}}` takes nothing else"),
                        None,
                    );
                }
                return match duration_from_json(&td.to_json()) {
                    Ok(d) => delta(d, key, node, sink, scope),
                    Err(e) => fail(sink, format!("`{key}.timedelta`: {e}"), None),
                };
            }
            let ty = json
                .get("__type__")
                .and_then(Json::as_str)
                .unwrap_or_default();
            if ty.is_empty() {
                let asset_like = ["datasets", "assets", "__and__", "__or__"]
                    .iter()
                    .any(|k| node.get(k).is_some());
                return if asset_like {
                    fail(
                        sink,
                        format!("`{key}` on datasets or assets is not supported"),
                        Some(ASSET_HINT.into()),
                    )
                } else {
                    fail(
                        sink,
                        format!("`{key}` mapping is not a schedule"),
                        Some("write `timedelta: {hours: 1}` or a `__type__` timetable".into()),
                    )
                };
            }
            read_typed_schedule(node, &json, ty, key, dag_tz, sink, scope)
        }
    }
}

fn delta(d: Duration, key: &str, node: &Node, sink: &mut Sink, scope: &Scope) -> Option<Schedule> {
    if d.is_zero() {
        sink.error(
            scope,
            node.pos,
            format!("`{key}` must be longer than 0"),
            None,
        );
        return None;
    }
    Some(Schedule::Delta { delta: d })
}

/// A schedule given as text.
pub fn schedule_from_str(text: &str) -> Result<Schedule, (String, Option<String>)> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.is_empty() {
        return Ok(Schedule::None);
    }
    if t.eq_ignore_ascii_case("@once") {
        return Ok(Schedule::Once);
    }
    if t.eq_ignore_ascii_case("@continuous") {
        return Err((
            "`@continuous` is not supported yet".into(),
            Some("use a short schedule such as `*/1 * * * *` or `30s`".into()),
        ));
    }
    let fields = t.split_whitespace().count();
    if t.starts_with('@') || fields >= 5 || t.contains('*') {
        return CronExpr::parse(t)
            .map(|cron| Schedule::Cron { cron })
            .map_err(|e| (e, None));
    }
    match Duration::parse(t) {
        Ok(d) if !d.is_zero() => Ok(Schedule::Delta { delta: d }),
        _ => Err((
            format!("`{t}` is neither a cron expression, a preset, nor a duration"),
            Some(
                "write e.g. `0 3 * * *` (cron: minute hour day month weekday), `@daily`, \
                 `30m`, or `None` for manual runs only"
                    .into(),
            ),
        )),
    }
}

fn read_typed_schedule(
    node: &Node,
    json: &Json,
    ty: &str,
    key: &str,
    dag_tz: Tz,
    sink: &mut Sink,
    scope: &Scope,
) -> Option<Schedule> {
    let args = json.get("__args__").and_then(Json::as_array);
    let arg = |name: &str, index: usize| json.get(name).or_else(|| args.and_then(|a| a.get(index)));
    let fail = |sink: &mut Sink, msg: String, hint: Option<String>| {
        sink.error(scope, node.pos, msg, hint);
        None
    };
    match ty {
        "datetime.timedelta" | "pendulum.duration" => {
            match json.as_object().map(timedelta_from_json) {
                Some(Ok(d)) => delta(d, key, node, sink, scope),
                Some(Err(e)) => fail(sink, format!("`{key}`: {e}"), None),
                None => None,
            }
        }
        "dateutil.relativedelta.relativedelta" => {
            let fixed = ["weeks", "days", "hours", "minutes", "seconds"];
            let obj = json.as_object()?;
            let calendar: Vec<&String> = obj
                .keys()
                .filter(|k| k.as_str() != "__type__" && !fixed.contains(&k.as_str()))
                .collect();
            if !calendar.is_empty() || obj.contains_key("__args__") {
                return fail(
                    sink,
                    format!(
                        "`{key}`: a relativedelta with calendar fields ({calendar:?}) is not supported"
                    ),
                    Some("use a cron expression, e.g. `0 0 1 * *` for monthly".into()),
                );
            }
            let mut fields = obj.clone();
            fields.remove("__type__");
            match timedelta_from_json(&fields) {
                Ok(d) => delta(d, key, node, sink, scope),
                Err(e) => fail(sink, format!("`{key}`: {e}"), None),
            }
        }
        t if CRON_TRIGGER_TYPES.contains(&t) || CRON_INTERVAL_TYPES.contains(&t) => {
            let Some(expr) = arg("cron", 0).and_then(Json::as_str) else {
                return fail(
                    sink,
                    format!("`{key}`: {t} needs a `cron` expression"),
                    None,
                );
            };
            let cron = match CronExpr::parse(expr) {
                Ok(c) => c,
                Err(e) => return fail(sink, format!("`{key}`: {e}"), None),
            };
            let trigger = CRON_TRIGGER_TYPES.contains(&t);
            let allowed: &[&str] = if trigger {
                &["__type__", "__args__", "cron", "timezone", "interval"]
            } else {
                &["__type__", "__args__", "cron", "timezone"]
            };
            if let Some(extra) = json
                .as_object()
                .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
            {
                return fail(
                    sink,
                    format!("`{key}`: `{extra}` of {t} is not supported"),
                    Some(format!("supported: {}", allowed[2..].join(", "))),
                );
            }
            let timezone = match node.get("timezone") {
                Some(tz_node) => Some(read_tz(tz_node, "timezone", sink, scope)?),
                // CronDataIntervalTimetable(cron, timezone) takes it positionally too.
                None if !trigger => match args.and_then(|a| a.get(1)) {
                    Some(Json::String(name)) => match name.parse::<Tz>() {
                        Ok(tz) => Some(tz),
                        Err(_) => {
                            return fail(
                                sink,
                                format!("`{key}`: unknown time zone `{name}`"),
                                None,
                            );
                        }
                    },
                    Some(_) => {
                        return fail(sink, format!("`{key}`: the time zone must be a name"), None);
                    }
                    None => None,
                },
                None => None,
            };
            if CRON_INTERVAL_TYPES.contains(&t) {
                if timezone.is_some_and(|tz| tz != dag_tz) {
                    return fail(
                        sink,
                        format!("`{key}`: the timetable's time zone differs from the DAG's"),
                        Some("set the DAG's `timezone` instead".into()),
                    );
                }
                return Some(Schedule::Cron { cron });
            }
            let interval = match arg("interval", usize::MAX) {
                None => Duration::ZERO,
                Some(v) => match duration_from_json(v) {
                    Ok(d) => d,
                    Err(e) => return fail(sink, format!("`{key}.interval`: {e}"), None),
                },
            };
            Some(Schedule::CronTrigger {
                cron,
                interval,
                timezone,
            })
        }
        t if DELTA_INTERVAL_TYPES.contains(&t) => match arg("delta", 0).map(duration_from_json) {
            Some(Ok(d)) => delta(d, key, node, sink, scope),
            Some(Err(e)) => fail(sink, format!("`{key}.delta`: {e}"), None),
            None => fail(sink, format!("`{key}`: {t} needs a `delta`"), None),
        },
        t if t.contains("Asset") || t.contains("Dataset") => fail(
            sink,
            format!("`{key}` on `{t}` is not supported"),
            Some(ASSET_HINT.into()),
        ),
        t => fail(
            sink,
            format!("`{key}`: `{t}` is not a timetable Kairos knows"),
            Some(format!(
                "supported: a cron string, a duration, datetime.timedelta, {}, {}, {}",
                CRON_TRIGGER_TYPES[0], CRON_INTERVAL_TYPES[0], DELTA_INTERVAL_TYPES[0]
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn read(yaml: &str) -> (Option<Schedule>, Vec<String>) {
        let doc = parse(yaml).expect("yaml");
        let node = doc.get("schedule").expect("schedule");
        let mut sink = Sink::new("t.yml");
        let s = read_schedule(node, "schedule", Tz::UTC, &mut sink, &Scope::default());
        (
            s,
            sink.diagnostics.iter().map(|d| d.message.clone()).collect(),
        )
    }

    fn ok(yaml: &str) -> Schedule {
        let (s, errs) = read(yaml);
        s.unwrap_or_else(|| panic!("{yaml}: {errs:?}"))
    }

    #[test]
    fn every_shape() {
        assert_eq!(ok("schedule: null"), Schedule::None);
        assert_eq!(ok("schedule: None"), Schedule::None);
        assert_eq!(ok("schedule: ' none '"), Schedule::None);
        assert_eq!(ok("schedule: '@once'"), Schedule::Once);
        assert!(matches!(ok("schedule: '@daily'"), Schedule::Cron { .. }));
        assert!(matches!(ok("schedule: 0 3 * * 1-5"), Schedule::Cron { .. }));
        let hour = Schedule::Delta {
            delta: Duration::from_secs(3600),
        };
        assert_eq!(ok("schedule: 1h"), hour);
        assert_eq!(ok("schedule: {timedelta: {hours: 1}}"), hour);
        assert_eq!(
            ok("schedule: {__type__: datetime.timedelta, hours: 1}"),
            hour
        );
        assert_eq!(
            ok("schedule: {__type__: dateutil.relativedelta.relativedelta, hours: 1}"),
            hour
        );
        assert!(matches!(
            ok(
                "schedule: {__type__: airflow.timetables.trigger.CronTriggerTimetable, cron: '0 1 * * 3', timezone: UTC}"
            ),
            Schedule::CronTrigger {
                timezone: Some(Tz::UTC),
                ..
            }
        ));
        assert!(matches!(
            ok(
                "schedule: {__type__: airflow.timetables.trigger.CronTriggerTimetable, __args__: ['0 1 * * 3'], timezone: UTC}"
            ),
            Schedule::CronTrigger { .. }
        ));
        assert_eq!(
            ok(
                "schedule: {__type__: airflow.timetables.interval.DeltaDataIntervalTimetable, delta: {days: 1}}"
            ),
            Schedule::Delta {
                delta: Duration::from_secs(86400)
            }
        );
    }

    #[test]
    fn refusals_say_why() {
        let cases = [
            ("schedule: '@continuous'", "not supported"),
            ("schedule: ['s3://a']", "assets"),
            ("schedule: {datasets: ['s3://a']}", "datasets"),
            (
                "schedule: {__type__: airflow.sdk.Asset, uri: 's3://a'}",
                "not supported",
            ),
            (
                "schedule: {__type__: dateutil.relativedelta.relativedelta, months: 1}",
                "calendar",
            ),
            ("schedule: 0 3 * *", "5"),
            ("schedule: 0 3 * * * *", "5"),
            ("schedule: 3600", "cannot be"),
            ("schedule: {timedelta: {minuts: 5}}", "minutes"),
            ("schedule: 0s", "neither"),
            (
                "schedule: {__type__: airflow.timetables.trigger.CronTriggerTimetable, cron: '@daily', run_immediately: true}",
                "`run_immediately` of airflow.timetables.trigger.CronTriggerTimetable is not supported",
            ),
            (
                "schedule: {__type__: airflow.timetables.interval.CronDataIntervalTimetable, __args__: ['@daily', 'Asia/Tokyo']}",
                "differs from the DAG's",
            ),
        ];
        for (yaml, want) in cases {
            let (s, errs) = read(yaml);
            assert!(s.is_none(), "{yaml} should fail");
            let text = errs.join(" | ");
            assert!(text.contains(want), "{yaml}: {text}");
        }
    }
}
