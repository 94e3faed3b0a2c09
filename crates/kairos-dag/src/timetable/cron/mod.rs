//! Cron expressions with Airflow's meaning.
//!
//! Airflow evaluates cron with croniter: five fields, Unix day-of-week numbers
//! (0 or 7 = Sunday, 1 = Monday), and Vixie cron's rule that a restricted
//! day-of-month and a restricted day-of-week match when *either* matches. The
//! `croner` crate follows those rules (the `cron` crate speaks Quartz, where 1 is
//! Sunday, so `1-5` would silently mean Sunday to Thursday). Kairos adds Airflow's
//! presets and its DST handling on top.
//!
//! This file is the expression itself: parsing and checking it, and its written form.
//! Beside it: `presets` (Airflow's `@daily` and friends), `fields` (the five fields:
//! names, ranges, ranges that wrap around), `search` (the next and previous fire time).

mod fields;
mod presets;
mod search;

pub use presets::preset_names;

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use fields::{FIELDS, check_field_ranges, field_values, unwrap_ranges};
use presets::PRESETS;

/// A parsed cron expression (or preset), as written and as evaluated.
#[derive(Clone)]
pub struct CronExpr {
    written: String,
    cron: Cron,
    /// The hour field covers every hour: Airflow then steps in elapsed time, not
    /// wall-clock time.
    every_hour: bool,
}

impl CronExpr {
    /// Parses a preset or a five-field Unix cron expression.
    pub fn parse(text: &str) -> Result<CronExpr, String> {
        let written = text.trim();
        let expanded = if written.starts_with('@') {
            PRESETS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(written))
                .map(|(_, expr)| *expr)
                .ok_or_else(|| {
                    format!(
                        "`{written}` is not a schedule preset; the presets are {}, plus @once \
                         (see the docs for @continuous)",
                        preset_names().collect::<Vec<_>>().join(", ")
                    )
                })?
        } else {
            written
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "`{written}` has {} field(s); a cron expression has 5: minute hour day-of-month \
                 month day-of-week (e.g. `30 2 * * 1-5`). Seconds and year fields are not supported",
                fields.len()
            ));
        }
        check_field_ranges(written, &fields)?;
        let normalized: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| unwrap_ranges(f, i))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("`{written}` is not a valid cron expression: {e}"))?;
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            // croniter accepts `0/5` (from 0, every 5) and so do Airflow files.
            .sloppy_ranges(true)
            .build()
            .parse(&normalized.join(" "))
            .map_err(|e| format!("`{written}` is not a valid cron expression: {e}"))?;
        let expr = CronExpr {
            written: written.to_string(),
            cron,
            // Airflow's test is croniter's expanded hour field being `*`: every hour,
            // however it is written (`*`, `*/1`, `0-23`).
            every_hour: field_values(&normalized[1], FIELDS[1].1, FIELDS[1].2)
                .is_some_and(|h| h.len() == 24),
        };
        // A pattern like `0 0 30 2 *` parses but never fires: refuse it now, not at run time.
        let probe = NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or("internal: bad probe date")?;
        if expr.cron.find_next_occurrence(&probe, false).is_err() {
            return Err(format!("`{written}` never matches any date"));
        }
        Ok(expr)
    }

    /// The expression as the user wrote it (`@daily`, `0 3 * * *`).
    pub fn as_str(&self) -> &str {
        &self.written
    }
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.written)
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for CronExpr {}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl FromStr for CronExpr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl Serialize for CronExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CronExpr::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
