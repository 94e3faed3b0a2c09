//! `start_date` and `end_date` as DAG files write them.
//!
//! Absolute forms (`2024-01-01`, `2024-01-01 06:00`, `2024-01-01T06:00:00+02:00`)
//! are read in the DAG's time zone unless they carry an offset. dag-factory's
//! relative form (`2 days`: that long before today's midnight in the DAG's zone)
//! stays relative in the model: it is resolved when a DAG version is created, from
//! the time stamped on that Raft entry, so the same file pushed twice has the same
//! content and makes no new version, and every node resolves it to the same instant.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::timetable::localize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DateSpec {
    /// A fixed instant.
    At { at: DateTime<Utc> },
    /// Local midnight of the day of resolution, in the DAG's zone, minus `ago`.
    Ago { ago: Duration },
}

impl DateSpec {
    /// The instant this date stands for, for a DAG in zone `tz`, resolved at `now`.
    pub fn resolve(&self, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            DateSpec::At { at } => *at,
            DateSpec::Ago { ago } => {
                let today = now.with_timezone(&tz).date_naive();
                let midnight = localize(today.and_time(NaiveTime::MIN), tz);
                midnight - ago.to_chrono()
            }
        }
    }

    /// The instant, when it does not depend on the time of resolution.
    pub fn fixed(&self) -> Option<DateTime<Utc>> {
        match self {
            DateSpec::At { at } => Some(*at),
            DateSpec::Ago { .. } => None,
        }
    }

    /// A local date and time in `tz`, with Airflow's DST rules.
    pub fn local(naive: NaiveDateTime, tz: Tz) -> DateSpec {
        DateSpec::At {
            at: localize(naive, tz),
        }
    }

    /// Parses the string forms described in the module docs; years 1 to 9999, as
    /// Python's `datetime` allows.
    pub fn parse(text: &str, tz: Tz) -> Result<DateSpec, String> {
        let spec = DateSpec::parse_any(text, tz)?;
        match spec {
            DateSpec::At { at } if !(1..=9999).contains(&at.year()) => {
                Err(format!("`{}` is outside the years 1 to 9999", text.trim()))
            }
            _ => Ok(spec),
        }
    }

    fn parse_any(text: &str, tz: Tz) -> Result<DateSpec, String> {
        let t = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(t) {
            return Ok(DateSpec::At {
                at: at.with_timezone(&Utc),
            });
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M%:z",
            "%Y-%m-%dT%H:%M%:z",
        ] {
            if let Ok(at) = DateTime::parse_from_str(t, fmt) {
                return Ok(DateSpec::At {
                    at: at.with_timezone(&Utc),
                });
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
                return Ok(DateSpec::local(naive, tz));
            }
        }
        if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(DateSpec::local(day.and_time(NaiveTime::MIN), tz));
        }
        if t.chars().any(|c| c.is_ascii_alphabetic()) && !t.starts_with(['-', '+']) {
            if let Ok(ago) = Duration::parse(t) {
                return Ok(DateSpec::Ago { ago });
            }
        }
        Err(format!(
            "`{t}` is not a date; write `2024-01-01`, `2024-01-01 06:30`, \
             `2024-01-01T06:30:00+02:00`, or a time before today like `2 days`"
        ))
    }
}

impl fmt::Display for DateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateSpec::At { at } => write!(f, "{}", at.format("%Y-%m-%dT%H:%M:%SZ")),
            DateSpec::Ago { ago } => write!(f, "{ago} before today (resolved when pushed)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("valid")
    }

    fn at(text: &str, tz: Tz) -> DateTime<Utc> {
        DateSpec::parse(text, tz)
            .map(|d| d.resolve(tz, utc(2000, 1, 1, 0, 0)))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn absolute_forms() {
        let paris: Tz = "Europe/Paris".parse().expect("tz");
        assert_eq!(at("2024-01-01", Tz::UTC), utc(2024, 1, 1, 0, 0));
        assert_eq!(at("2024-01-01", paris), utc(2023, 12, 31, 23, 0));
        assert_eq!(at("2024-07-01 06:30", paris), utc(2024, 7, 1, 4, 30));
        assert_eq!(at("2024-07-01T06:30:00", paris), utc(2024, 7, 1, 4, 30));
        // An explicit offset wins over the DAG's zone.
        assert_eq!(
            at("2024-07-01T06:30:00+02:00", Tz::UTC),
            utc(2024, 7, 1, 4, 30)
        );
        assert_eq!(at("2024-07-01T06:30:00Z", paris), utc(2024, 7, 1, 6, 30));
        assert_eq!(
            at("2024-07-01 06:30:00+00:00", paris),
            utc(2024, 7, 1, 6, 30)
        );
    }

    #[test]
    fn relative_forms_resolve_from_local_midnight() {
        let tokyo: Tz = "Asia/Tokyo".parse().expect("tz");
        let spec = DateSpec::parse("2 days", tokyo).expect("relative");
        assert_eq!(
            spec,
            DateSpec::Ago {
                ago: Duration::from_secs(2 * 86400)
            }
        );
        assert_eq!(spec.fixed(), None);
        // 2024-05-10 20:00Z is 2024-05-11 05:00 in Tokyo: midnight there is 05-10 15:00Z.
        assert_eq!(
            spec.resolve(tokyo, utc(2024, 5, 10, 20, 0)),
            utc(2024, 5, 8, 15, 0)
        );
        let hours = DateSpec::parse("5 hours", Tz::UTC).expect("relative");
        assert_eq!(
            hours.resolve(Tz::UTC, utc(2024, 5, 10, 20, 0)),
            utc(2024, 5, 9, 19, 0)
        );
    }

    #[test]
    fn bad_dates_say_what_is_accepted() {
        // Found in review: a far-future date overflowed when localized; Python's range holds.
        let err = DateSpec::parse("0000-06-01", Tz::UTC).expect_err("out of range");
        assert!(err.contains("1 to 9999"), "{err}");
        for bad in [
            "yesterday-ish",
            "2024-13-01",
            "-2 days",
            "300",
            "2024/01/01",
        ] {
            let err = DateSpec::parse(bad, Tz::UTC).expect_err(bad);
            assert!(err.contains("2024-01-01"), "{bad}: {err}");
        }
    }
}
