//! Airflow's date macros, `macros.ds_add` and `macros.ds_format`, given to templates
//! both as functions and under `macros`.

use chrono::{Duration as ChronoDuration, NaiveDate};
use minijinja::{Error, ErrorKind};

use super::datetime::{strftime, strptime};

/// `macros.ds_add('2024-01-01', 5)`: a `YYYY-MM-DD` date moved by a number of days.
pub fn ds_add(ds: String, days: i64) -> Result<String, Error> {
    let d = NaiveDate::parse_from_str(&ds, "%Y-%m-%d").map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("ds_add: `{ds}` is not YYYY-MM-DD"),
        )
    })?;
    let moved = ChronoDuration::try_days(days)
        .and_then(|delta| d.checked_add_signed(delta))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "ds_add: date out of range"))?;
    Ok(moved.format("%Y-%m-%d").to_string())
}

/// `macros.ds_format('2024-01-01', '%Y-%m-%d', '%d/%m/%Y')`: re-formats a date string.
pub fn ds_format(ds: String, input_format: String, output_format: String) -> Result<String, Error> {
    let parsed = strptime(&ds, &input_format)?;
    strftime(
        &parsed.and_utc().with_timezone(&chrono_tz::Tz::UTC),
        &output_format,
    )
}
