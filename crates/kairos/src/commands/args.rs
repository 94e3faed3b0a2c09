//! Parsing of the values people type after flags: dates and `--conf`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// A date as RFC 3339 (`2026-01-01T06:00:00Z`) or a bare day (`2026-01-01`,
/// midnight UTC), as Airflow's CLI takes them.
pub(crate) fn parse_date(flag: &str, text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(midnight) = day.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc());
        }
    }
    Err(format!(
        "{flag} {text:?} is not a date: write 2026-01-01 or 2026-01-01T06:00:00Z"
    ))
}

/// `--conf`: a JSON object's members (none when not given), as a run's or a
/// backfill's `conf` holds them.
pub(crate) fn parse_conf(text: Option<&str>) -> Result<BTreeMap<String, Value>, String> {
    match text {
        None => Ok(BTreeMap::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map.into_iter().collect()),
            _ => Err(format!(
                "--conf {text:?} is not a JSON object, e.g. '{{\"date\": \"2026-01-01\"}}'"
            )),
        },
    }
}

/// A time as RFC 3339, read exactly as the API reads one.
pub(crate) fn parse_rfc3339(flag: &str, text: &str) -> Result<DateTime<Utc>, String> {
    text.parse::<DateTime<Utc>>().map_err(|e| {
        format!("{flag} {text:?} is not an RFC 3339 time ({e}); write e.g. 2026-01-01T06:00:00Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_or_rfc3339_and_anything_else_is_a_clear_error() {
        assert_eq!(
            parse_date("--start", "2026-01-02").map(|d| d.to_rfc3339()),
            Ok("2026-01-02T00:00:00+00:00".to_string())
        );
        assert_eq!(
            parse_date("--start", "2026-01-02T06:30:00+02:00").map(|d| d.to_rfc3339()),
            Ok("2026-01-02T04:30:00+00:00".to_string())
        );
        let err = parse_date("--end", "yesterday").unwrap_err();
        assert!(err.contains("--end") && err.contains("2026-01-01"), "{err}");
        assert!(parse_conf(Some("[1]")).is_err());
        assert_eq!(parse_conf(None), Ok(BTreeMap::new()));
    }
}
