//! Durations as DAG files write them.
//!
//! Airflow users write durations in several ways: seconds as numbers
//! (`retry_delay_sec: 300`), Python `timedelta` keyword mappings
//! (`{minutes: 5}`), and dag-factory / humane strings (`5m`, `1h30m`, `2 days`,
//! `0:05:00`). All of them become one [`Duration`], stored as whole milliseconds
//! so that its serialized form (part of a DAG version's identity) is exact.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A non-negative length of time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration {
    millis: u64,
}

const MS_PER_SEC: u64 = 1_000;
const MS_PER_MIN: u64 = 60 * MS_PER_SEC;
const MS_PER_HOUR: u64 = 60 * MS_PER_MIN;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;

/// Longest duration accepted: 100 years, beyond any sane schedule or timeout and far
/// from the overflow of date arithmetic.
const MAX_MILLIS: u64 = 100 * 366 * MS_PER_DAY;

impl Duration {
    pub const ZERO: Duration = Duration { millis: 0 };

    pub fn from_millis(millis: u64) -> Duration {
        Duration {
            millis: millis.min(MAX_MILLIS),
        }
    }

    /// For constants (no clamping; callers pass sane values).
    pub const fn from_secs_const(secs: u64) -> Duration {
        Duration {
            millis: secs * MS_PER_SEC,
        }
    }

    pub fn from_secs(secs: u64) -> Duration {
        Duration::from_millis(secs.saturating_mul(MS_PER_SEC))
    }

    pub fn as_millis(self) -> u64 {
        self.millis
    }

    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    pub fn is_zero(self) -> bool {
        self.millis == 0
    }

    /// As a chrono delta, for date arithmetic.
    pub fn to_chrono(self) -> chrono::TimeDelta {
        // Bounded by MAX_MILLIS, far inside i64.
        chrono::TimeDelta::milliseconds(self.millis as i64)
    }

    /// Seconds from a YAML/JSON number (`300`, `0.5`). Negative or non-finite is an error.
    pub fn from_seconds_number(secs: f64) -> Result<Duration, String> {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!(
                "`{secs}` is not a valid number of seconds (must be 0 or more)"
            ));
        }
        let millis = (secs * 1000.0).round();
        if millis > MAX_MILLIS as f64 {
            return Err(format!("`{secs}` seconds is longer than 100 years"));
        }
        Ok(Duration::from_millis(millis as u64))
    }

    /// Parses the string forms: `300` (seconds), `30s`, `5m`, `1h30m`, `2d`, `1w`,
    /// `2 days`, `1 hour 30 minutes`, `0:05:00`, `1 day, 2:00:00` (Python's `str(timedelta)`).
    pub fn parse(text: &str) -> Result<Duration, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("empty duration".into());
        }
        if let Ok(secs) = trimmed.parse::<f64>() {
            return Duration::from_seconds_number(secs);
        }
        parse_python_timedelta_str(trimmed)
            .or_else(|| parse_units(trimmed))
            .ok_or_else(|| {
                format!(
                    "`{trimmed}` is not a duration; write seconds (`300`), units (`30s`, `5m`, `1h30m`, \
                     `2 days`), `HH:MM:SS`, or a mapping like `{{minutes: 5}}`"
                )
            })
    }

    /// Adds a Python `timedelta` keyword (`days`, `hours`, ...) to a running total.
    pub fn timedelta_unit_millis(unit: &str) -> Option<u64> {
        Some(match unit {
            "weeks" => MS_PER_WEEK,
            "days" => MS_PER_DAY,
            "hours" => MS_PER_HOUR,
            "minutes" => MS_PER_MIN,
            "seconds" => MS_PER_SEC,
            "milliseconds" => 1,
            _ => return None,
        })
    }

    /// The keywords Python's `timedelta` accepts (minus microseconds), for error messages.
    pub const TIMEDELTA_UNITS: &'static [&'static str] = &[
        "weeks",
        "days",
        "hours",
        "minutes",
        "seconds",
        "milliseconds",
    ];

    /// Builds a duration from `(unit, amount)` pairs of a timedelta mapping.
    pub fn from_timedelta_parts(parts: &[(&str, f64)]) -> Result<Duration, String> {
        let mut total = 0.0_f64;
        for (unit, amount) in parts {
            let per = Duration::timedelta_unit_millis(unit)
                .ok_or_else(|| format!("`{unit}` is not a timedelta unit"))?;
            total += amount * per as f64;
        }
        if !total.is_finite() || total < 0.0 {
            return Err("the duration must be 0 or more".into());
        }
        if total > MAX_MILLIS as f64 {
            return Err("the duration is longer than 100 years".into());
        }
        Ok(Duration::from_millis(total.round() as u64))
    }
}

/// `H:MM:SS[.ffffff]` optionally preceded by `N day(s), `.
fn parse_python_timedelta_str(text: &str) -> Option<Duration> {
    let (days, clock) = match text.split_once(',') {
        Some((d, rest)) => {
            let d = d.trim();
            let n = d
                .strip_suffix(" days")
                .or_else(|| d.strip_suffix(" day"))?
                .trim()
                .parse::<u64>()
                .ok()?;
            (n, rest.trim())
        }
        None => (0, text),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() != 3 {
        return None;
    }
    let hours: u64 = parts[0].parse().ok()?;
    let minutes: u64 = parts[1].parse().ok()?;
    let seconds: f64 = parts[2].parse().ok()?;
    if minutes > 59 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let millis = days
        .checked_mul(MS_PER_DAY)?
        .checked_add(hours.checked_mul(MS_PER_HOUR)?)?
        .checked_add(minutes * MS_PER_MIN)?
        .checked_add((seconds * 1000.0).round() as u64)?;
    (millis <= MAX_MILLIS).then(|| Duration::from_millis(millis))
}

fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => MS_PER_SEC,
        "m" | "min" | "mins" | "minute" | "minutes" => MS_PER_MIN,
        "h" | "hr" | "hrs" | "hour" | "hours" => MS_PER_HOUR,
        "d" | "day" | "days" => MS_PER_DAY,
        "w" | "week" | "weeks" => MS_PER_WEEK,
        _ => return None,
    })
}

/// A sequence of `<number><unit>` pairs with optional spaces: `1h30m`, `2 days`, `1 hour 5 min`.
fn parse_units(text: &str) -> Option<Duration> {
    let mut total: f64 = 0.0;
    let mut rest = text.trim();
    let mut any = false;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let amount: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return None;
        }
        total += amount * unit_millis(&rest[..unit_len])? as f64;
        rest = rest[unit_len..].trim_start_matches([' ', ',']);
        any = true;
    }
    (any && total.is_finite() && total <= MAX_MILLIS as f64)
        .then(|| Duration::from_millis(total.round() as u64))
}

impl fmt::Display for Duration {
    /// Compact and exact: `1h30m`, `2d`, `300ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return write!(f, "0s");
        }
        let mut rest = self.millis;
        for (unit, per) in [
            ("d", MS_PER_DAY),
            ("h", MS_PER_HOUR),
            ("m", MS_PER_MIN),
            ("s", MS_PER_SEC),
            ("ms", 1),
        ] {
            if rest >= per {
                write!(f, "{}{unit}", rest / per)?;
                rest %= per;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn string_forms() {
        let cases: &[(&str, Duration)] = &[
            ("300", secs(300)),
            ("0.5", Duration::from_millis(500)),
            ("30s", secs(30)),
            ("5m", secs(300)),
            ("1h", secs(3600)),
            ("1h30m", secs(5400)),
            ("1h 30m", secs(5400)),
            ("2d", secs(2 * 86400)),
            ("2 days", secs(2 * 86400)),
            ("1 day", secs(86400)),
            ("1 hour 5 minutes", secs(3900)),
            ("1w", secs(7 * 86400)),
            ("250ms", Duration::from_millis(250)),
            ("0:05:00", secs(300)),
            ("1:00:00", secs(3600)),
            ("1 day, 2:00:00", secs(86400 + 7200)),
            ("3 days, 0:00:00", secs(3 * 86400)),
        ];
        for (text, want) in cases {
            assert_eq!(Duration::parse(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn bad_strings_are_errors_that_say_how() {
        for text in ["", "abc", "5 parsecs", "-5", "1h-3m", "1:99:00", "m5"] {
            let err = Duration::parse(text).expect_err(text);
            assert!(!err.is_empty());
        }
        let err = Duration::parse("5 parsecs").expect_err("unit");
        assert!(err.contains("5m"), "the error shows valid forms: {err}");
    }

    #[test]
    fn timedelta_mapping() {
        assert_eq!(
            Duration::from_timedelta_parts(&[("days", 1.0), ("hours", 2.0)]),
            Ok(secs(86400 + 7200))
        );
        assert_eq!(
            Duration::from_timedelta_parts(&[("minutes", 1.5)]),
            Ok(secs(90))
        );
        assert!(Duration::from_timedelta_parts(&[("fortnights", 1.0)]).is_err());
        assert!(Duration::from_timedelta_parts(&[("days", -1.0)]).is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["1h30m", "2d", "45s", "250ms", "1d2h3m4s5ms"] {
            let d = Duration::parse(text).expect(text);
            assert_eq!(d.to_string(), text);
            assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }
    }

    #[test]
    fn huge_values_are_refused_not_overflowed() {
        assert!(Duration::parse("1e300").is_err());
        assert!(Duration::parse("99999999999999999999999d").is_err());
        assert!(Duration::from_seconds_number(f64::INFINITY).is_err());
        // Found by review: overflowed in debug builds, wrapped in release ones.
        assert!(Duration::parse("213503982334 days, 5000000000000:00:00").is_err());
    }
}
