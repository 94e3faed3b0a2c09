//! Date-times in templates, behaving like the pendulum `DateTime`s Airflow hands to
//! Jinja: they print as ISO 8601 (`2024-01-01T00:00:00+00:00`), and offer
//! `strftime`, `isoformat`, `add` / `subtract`, `in_timezone`, `to_date_string`, ...

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value, from_args};
use minijinja::{Error, ErrorKind, State};

/// A date-time in a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeValue(pub DateTime<Tz>);

impl DateTimeValue {
    pub fn utc(at: DateTime<Utc>) -> Value {
        Value::from_object(DateTimeValue(at.with_timezone(&Tz::UTC)))
    }

    /// Python's `isoformat()`: `2024-01-01T00:00:00+00:00`, microseconds when present.
    pub fn isoformat(&self) -> String {
        let t = self.0;
        if t.nanosecond() / 1000 == 0 {
            t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python `strftime` directives mostly match chrono's; `%f` is six digits in Python.
pub fn strftime(t: &DateTime<Tz>, fmt: &str) -> Result<String, Error> {
    use std::fmt::Write;
    let fmt = fmt.replace("%f", "%6f");
    let mut out = String::new();
    write!(out, "{}", t.format(&fmt)).map_err(|_| bad(format!("bad strftime format `{fmt}`")))?;
    Ok(out)
}

/// Python `strptime` for the directives chrono shares.
pub fn strptime(text: &str, fmt: &str) -> Result<NaiveDateTime, Error> {
    let fmt = fmt.replace("%f", "%6f");
    NaiveDateTime::parse_from_str(text, &fmt)
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, &fmt)
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|e| bad(format!("`{text}` does not match the format `{fmt}`: {e}")))
}

/// pendulum's `add` / `subtract` keywords: calendar months and years, then fixed units.
fn shift(t: DateTime<Tz>, kwargs: &Kwargs, sign: i64) -> Result<DateTime<Tz>, Error> {
    let out_of_range = || bad("date shift out of range");
    let int = |k: &str| -> Result<i64, Error> { Ok(kwargs.get::<Option<i64>>(k)?.unwrap_or(0)) };
    let months = int("years")?
        .checked_mul(12)
        .and_then(|m| m.checked_add(int("months").ok()?))
        .and_then(|m| m.checked_mul(sign))
        .ok_or_else(out_of_range)?;
    let mut fixed = TimeDelta::zero();
    for (unit, make) in [
        (
            "weeks",
            TimeDelta::try_weeks as fn(i64) -> Option<TimeDelta>,
        ),
        ("days", TimeDelta::try_days),
        ("hours", TimeDelta::try_hours),
        ("minutes", TimeDelta::try_minutes),
        ("seconds", TimeDelta::try_seconds),
    ] {
        let part = int(unit)?
            .checked_mul(sign)
            .and_then(make)
            .ok_or_else(out_of_range)?;
        fixed = fixed.checked_add(&part).ok_or_else(out_of_range)?;
    }
    kwargs.assert_all_used()?;
    let month_count =
        Months::new(u32::try_from(months.unsigned_abs()).map_err(|_| out_of_range())?);
    let shifted = if months >= 0 {
        t.checked_add_months(month_count)
    } else {
        t.checked_sub_months(month_count)
    }
    .ok_or_else(out_of_range)?;
    shifted.checked_add_signed(fixed).ok_or_else(out_of_range)
}

impl Object for DateTimeValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let t = self.0;
        Some(match key.as_str()? {
            "year" => Value::from(t.year()),
            "month" => Value::from(t.month()),
            "day" => Value::from(t.day()),
            "hour" => Value::from(t.hour()),
            "minute" => Value::from(t.minute()),
            "second" => Value::from(t.second()),
            "microsecond" => Value::from(t.nanosecond() / 1000),
            "day_of_week" => Value::from(t.weekday().num_days_from_sunday()),
            "timezone_name" | "tzname" => Value::from(t.timezone().name()),
            "int_timestamp" => Value::from(t.timestamp()),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let t = self.0;
        match method {
            "strftime" => {
                let (fmt,): (&str,) = from_args(args)?;
                Ok(Value::from(strftime(&t, fmt)?))
            }
            "isoformat" => Ok(Value::from(self.isoformat())),
            "timestamp" => Ok(Value::from(
                t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6,
            )),
            "to_date_string" | "date" => Ok(Value::from(t.format("%Y-%m-%d").to_string())),
            "to_datetime_string" => Ok(Value::from(t.format("%Y-%m-%d %H:%M:%S").to_string())),
            "weekday" => Ok(Value::from(t.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(t.weekday().number_from_monday())),
            "add" | "subtract" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let sign: i64 = if method == "add" { 1 } else { -1 };
                Ok(Value::from_object(DateTimeValue(shift(t, &kwargs, sign)?)))
            }
            "in_timezone" | "in_tz" | "astimezone" => {
                let (name,): (&str,) = from_args(args)?;
                let tz: Tz = name
                    .parse()
                    .map_err(|_| bad(format!("unknown time zone `{name}`")))?;
                Ok(Value::from_object(DateTimeValue(t.with_timezone(&tz))))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Self>()?;
        Some(self.0.cmp(&other.0))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat())
    }
}

/// `macros.datetime`: Python's `datetime` class: callable, with `now`, `utcnow`,
/// `strptime` and `fromisoformat`. "Now" is the time the caller renders at, passed
/// in, so that rendering stays a pure function of its inputs.
#[derive(Debug)]
pub struct DatetimeClass {
    pub now: DateTime<Utc>,
}

impl Object for DatetimeClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (y, mo, d, h, rest): (i32, u32, u32, Option<u32>, &[Value]) = from_args(args)?;
        let (mi, s): (Option<u32>, Option<u32>) = from_args(rest)?;
        let t = Utc
            .with_ymd_and_hms(y, mo, d, h.unwrap_or(0), mi.unwrap_or(0), s.unwrap_or(0))
            .single()
            .ok_or_else(|| bad("not a real date and time"))?;
        Ok(DateTimeValue::utc(t))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "now" | "utcnow" => Ok(DateTimeValue::utc(self.now)),
            "strptime" => {
                let (text, fmt): (&str, &str) = from_args(args)?;
                Ok(DateTimeValue::utc(strptime(text, fmt)?.and_utc()))
            }
            "fromisoformat" => {
                let (text,): (&str,) = from_args(args)?;
                let t = parse_iso(text)
                    .ok_or_else(|| bad(format!("`{text}` is not an ISO date-time")))?;
                Ok(DateTimeValue::utc(t))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// Reads a date-time from a template value: a [`DateTimeValue`] or an ISO string.
pub fn as_datetime(v: &Value) -> Result<DateTime<Tz>, Error> {
    if let Some(obj) = v.downcast_object_ref::<DateTimeValue>() {
        return Ok(obj.0);
    }
    let text = v
        .as_str()
        .ok_or_else(|| bad(format!("expected a date-time, found `{v}`")))?;
    parse_iso(text)
        .map(|t| t.with_timezone(&Tz::UTC))
        .ok_or_else(|| bad(format!("`{text}` is not a date-time")))
}

/// An ISO 8601 date-time with an offset, or a naive one (read as UTC), or a date.
fn parse_iso(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            strptime(text, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| strptime(text, "%Y-%m-%d").ok().map(|n| n.and_utc()))
}
