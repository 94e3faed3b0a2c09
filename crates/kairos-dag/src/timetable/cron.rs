//! Cron expressions with Airflow's meaning.
//!
//! Airflow evaluates cron with croniter: five fields, Unix day-of-week numbers
//! (0 or 7 = Sunday, 1 = Monday), and Vixie cron's rule that a restricted
//! day-of-month and a restricted day-of-week match when *either* matches. The
//! `croner` crate follows those rules (the `cron` crate speaks Quartz, where 1 is
//! Sunday, so `1-5` would silently mean Sunday to Thursday). Kairos adds Airflow's
//! presets and its DST handling on top.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::localize::{localize, to_naive};

/// Airflow's cron presets (`airflow.utils.dates.cron_presets`, plus croniter's
/// `@annually` and `@midnight`, which Airflow passes through to it).
const PRESETS: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// Names of every preset, for error messages.
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(name, _)| *name)
}

/// How many cron times to step over while looking for one on the right side of
/// `current` after DST localization; two always suffice, this leaves margin.
const MAX_DST_STEPS: usize = 8;

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

    /// The first cron time strictly after `current` (Airflow's `CronMixin._get_next`).
    pub fn next_after(&self, current: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let start = to_naive(current, tz);
        if self.every_hour {
            let scheduled = self.cron.find_next_occurrence(&start, false).ok()?;
            return current.checked_add_signed(scheduled - start);
        }
        // Localizing can move a wall time (out of a DST gap), so make sure the answer is
        // really after `current`; Airflow can return `current` itself there.
        let mut naive = start;
        for _ in 0..MAX_DST_STEPS {
            naive = self.cron.find_next_occurrence(&naive, false).ok()?;
            let at = localize(naive, tz);
            if at > current {
                return Some(at);
            }
        }
        None
    }

    /// The last cron time strictly before `current` (Airflow's `CronMixin._get_prev`).
    pub fn prev_before(&self, current: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let start = to_naive(current, tz);
        if self.every_hour {
            let scheduled = self.cron.find_previous_occurrence(&start, false).ok()?;
            return current.checked_sub_signed(start - scheduled);
        }
        let mut naive = start;
        for _ in 0..MAX_DST_STEPS {
            naive = self.cron.find_previous_occurrence(&naive, false).ok()?;
            let at = localize(naive, tz);
            if at < current {
                return Some(at);
            }
        }
        None
    }

    /// `current` if it is a cron time, else the next one (Airflow's `_align_to_next`).
    pub fn align_to_next(&self, current: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let next = self.next_after(current, tz)?;
        if self.prev_before(next, tz) == Some(current) {
            Some(current)
        } else {
            Some(next)
        }
    }

    /// `current` if it is a cron time, else the previous one (Airflow's `_align_to_prev`).
    pub fn align_to_prev(&self, current: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let prev = self.prev_before(current, tz)?;
        if self.next_after(prev, tz) == Some(current) {
            Some(current)
        } else {
            Some(prev)
        }
    }
}

/// Month and weekday names, for ranges written with names.
const NAMES: [&[(&str, u32)]; 5] = [
    &[],
    &[],
    &[],
    &[
        ("JAN", 1),
        ("FEB", 2),
        ("MAR", 3),
        ("APR", 4),
        ("MAY", 5),
        ("JUN", 6),
        ("JUL", 7),
        ("AUG", 8),
        ("SEP", 9),
        ("OCT", 10),
        ("NOV", 11),
        ("DEC", 12),
    ],
    &[
        ("SUN", 0),
        ("MON", 1),
        ("TUE", 2),
        ("WED", 3),
        ("THU", 4),
        ("FRI", 5),
        ("SAT", 6),
    ],
];

/// Each field's name, lowest and highest value (day-of-week 7 is Sunday, as 0 is).
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

fn value_of(token: &str, field: usize) -> Option<u32> {
    token.parse::<u32>().ok().or_else(|| {
        NAMES[field]
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map(|(_, v)| *v)
    })
}

/// Rewrites ranges that wrap around the end of a field (`22-2`, `FRI-MON`, `DEC-FEB`),
/// which croniter accepts, as two ranges that croner understands.
fn unwrap_ranges(field: &str, index: usize) -> Result<String, String> {
    let (_, min, max) = FIELDS[index];
    // A wrapping weekday range ends at Saturday (6); 7 is Sunday again.
    let max = if index == 4 { 6 } else { max };
    let mut parts = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let wrapped = range.split_once('-').and_then(|(a, b)| {
            let (a, b) = (value_of(a, index)?, value_of(b, index)?);
            (a > b && !(index == 4 && b == 7)).then_some((a, b))
        });
        match (wrapped, step) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "the range `{range}` wraps around and has a step; write it as two ranges"
                ));
            }
            (Some((a, b)), None) => parts.push(format!("{a}-{max},{min}-{b}")),
            (None, _) => parts.push(part.to_string()),
        }
    }
    Ok(parts.join(","))
}

/// The values a plain numeric field stands for (`*`, `a`, `a-b`, steps, lists), or
/// `None` when it uses a feature this does not expand (`L`, `W`, `#`, `?`).
fn field_values(field: &str, low: u32, high: u32) -> Option<std::collections::BTreeSet<u32>> {
    let mut values = std::collections::BTreeSet::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "" => (low, high),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                // `5/15` runs from 5 to the end of the field.
                None if part.contains('/') => (r.parse().ok()?, high),
                None => {
                    let v = r.parse().ok()?;
                    (v, v)
                }
            },
        };
        values.extend((from..=to.min(high)).step_by(step as usize));
    }
    Some(values)
}

/// Names each field and its range, so that `0 25 * * *` says "hour 25 is out of range
/// 0-23" rather than a parser's generic complaint.
fn check_field_ranges(written: &str, fields: &[&str]) -> Result<(), String> {
    for ((name, low, high), field) in FIELDS.iter().zip(fields) {
        for part in field.split(',') {
            // A step (`*/15`, `0/5`) is a count, not a position: only the range is checked.
            let range = part.split('/').next().unwrap_or(part);
            for n in range
                .split(['-', '#'])
                .filter_map(|v| v.parse::<u32>().ok())
            {
                if n < *low || n > *high {
                    return Err(format!(
                        "`{written}` is not a valid cron expression: {name} {n} is out of range {low}-{high}"
                    ));
                }
            }
        }
    }
    Ok(())
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
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Weekday};

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("valid")
    }

    fn cron(text: &str) -> CronExpr {
        CronExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn weekdays_are_unix_numbers() {
        // 1-5 is Monday..Friday (the cron crate would make it Sunday..Thursday).
        let c = cron("0 9 * * 1-5");
        let mut t = utc(2024, 6, 1, 0, 0); // a Saturday
        let mut days = Vec::new();
        for _ in 0..5 {
            t = c.next_after(t, Tz::UTC).expect("next");
            days.push(t.weekday());
        }
        assert_eq!(
            days,
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri
            ]
        );
        // 0 and 7 are both Sunday.
        assert_eq!(
            cron("0 0 * * 0").next_after(utc(2024, 6, 3, 0, 0), Tz::UTC),
            cron("0 0 * * 7").next_after(utc(2024, 6, 3, 0, 0), Tz::UTC)
        );
    }

    #[test]
    fn names_lists_ranges_and_steps() {
        let c = cron("*/15 8-9 * JAN,jul MON");
        let t = c.next_after(utc(2024, 1, 1, 8, 50), Tz::UTC).expect("next");
        assert_eq!(t, utc(2024, 1, 1, 9, 0)); // 2024-01-01 is a Monday
        let t = c.next_after(utc(2024, 1, 1, 9, 45), Tz::UTC).expect("next");
        assert_eq!(t, utc(2024, 1, 8, 8, 0));
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Vixie/croniter: the 13th OR any Friday.
        let c = cron("0 0 13 * 5");
        let t1 = c.next_after(utc(2024, 9, 1, 0, 0), Tz::UTC).expect("next");
        assert_eq!(t1, utc(2024, 9, 6, 0, 0)); // Friday the 6th
        let t2 = c.next_after(utc(2024, 9, 12, 0, 0), Tz::UTC).expect("next");
        assert_eq!(t2, utc(2024, 9, 13, 0, 0)); // the 13th (also a Friday this month)
        let t3 = c
            .next_after(utc(2024, 10, 12, 0, 0), Tz::UTC)
            .expect("next");
        assert_eq!(t3, utc(2024, 10, 13, 0, 0)); // Sunday the 13th still matches
    }

    #[test]
    fn presets() {
        assert_eq!(
            cron("@quarterly").next_after(utc(2024, 2, 10, 0, 0), Tz::UTC),
            Some(utc(2024, 4, 1, 0, 0))
        );
        assert_eq!(
            cron("@weekly").next_after(utc(2024, 6, 5, 0, 0), Tz::UTC),
            Some(utc(2024, 6, 9, 0, 0))
        );
        assert_eq!(cron("@DAILY").as_str(), "@DAILY");
    }

    #[test]
    fn bad_expressions_say_why() {
        let six = CronExpr::parse("0 0 0 * * *").expect_err("six fields");
        assert!(six.contains("5"), "{six}");
        let bad = CronExpr::parse("61 * * * *").expect_err("minute 61");
        assert!(bad.contains("61 * * * *"), "{bad}");
        // Each number of a list is checked, also beside a step (`5,10/5`).
        assert!(CronExpr::parse("0 5,10/5 * * *").is_ok());
        let err = CronExpr::parse("0 5,30/5 * * *").expect_err("hour 30");
        assert!(err.contains("hour 30 is out of range 0-23"), "{err}");
        let never = CronExpr::parse("0 0 30 2 *").expect_err("feb 30");
        assert!(never.contains("never"), "{never}");
        let preset = CronExpr::parse("@fortnightly").expect_err("preset");
        assert!(preset.contains("@daily"), "{preset}");
        assert!(CronExpr::parse("").is_err());
    }

    #[test]
    fn steps_from_a_start_and_wrapping_ranges() {
        let at = |c: &str, after: DateTime<Utc>| cron(c).next_after(after, Tz::UTC).expect("next");
        // `0/5`: from minute 0, every 5; `5/15`: 5, 20, 35, 50.
        assert_eq!(
            at("0/5 * * * *", utc(2024, 1, 1, 0, 1)),
            utc(2024, 1, 1, 0, 5)
        );
        assert_eq!(
            at("5/15 * * * *", utc(2024, 1, 1, 0, 21)),
            utc(2024, 1, 1, 0, 35)
        );
        // 22-2 is 22, 23, 0, 1, 2.
        assert_eq!(
            at("0 22-2 * * *", utc(2024, 1, 1, 2, 30)),
            utc(2024, 1, 1, 22, 0)
        );
        assert_eq!(
            at("0 22-2 * * *", utc(2024, 1, 1, 23, 30)),
            utc(2024, 1, 2, 0, 0)
        );
        // FRI-MON: Friday, Saturday, Sunday, Monday (2024-01-02 is a Tuesday).
        assert_eq!(
            at("0 0 * * FRI-MON", utc(2024, 1, 2, 0, 0)),
            utc(2024, 1, 5, 0, 0)
        );
        assert_eq!(
            at("0 0 * * fri-mon", utc(2024, 1, 7, 0, 0)),
            utc(2024, 1, 8, 0, 0)
        );
        // DEC-FEB: December, January, February.
        assert_eq!(
            at("0 0 1 DEC-FEB *", utc(2024, 2, 15, 0, 0)),
            utc(2024, 12, 1, 0, 0)
        );
        assert!(
            CronExpr::parse("0 22-2/2 * * *").is_err(),
            "wrapping with a step is refused, not guessed"
        );
    }

    #[test]
    fn every_hour_however_it_is_written() {
        for c in [
            "0 * * * *",
            "0 */1 * * *",
            "0 0-23 * * *",
            "15 0-11,12-23 * * *",
        ] {
            assert!(cron(c).every_hour, "{c}");
        }
        for c in ["0 */2 * * *", "0 0-22 * * *", "0 9 * * *"] {
            assert!(!cron(c).every_hour, "{c}");
        }
    }

    #[test]
    fn align() {
        let c = cron("0 * * * *");
        assert_eq!(
            c.align_to_next(utc(2024, 1, 1, 5, 0), Tz::UTC),
            Some(utc(2024, 1, 1, 5, 0))
        );
        assert_eq!(
            c.align_to_next(utc(2024, 1, 1, 5, 1), Tz::UTC),
            Some(utc(2024, 1, 1, 6, 0))
        );
        assert_eq!(
            c.align_to_prev(utc(2024, 1, 1, 5, 0), Tz::UTC),
            Some(utc(2024, 1, 1, 5, 0))
        );
        assert_eq!(
            c.align_to_prev(utc(2024, 1, 1, 5, 59), Tz::UTC),
            Some(utc(2024, 1, 1, 5, 0))
        );
    }

    #[test]
    fn serde_keeps_the_written_form() {
        let c = cron("@daily");
        let json = serde_json::to_string(&c).expect("ser");
        assert_eq!(json, "\"@daily\"");
        let back: CronExpr = serde_json::from_str(&json).expect("de");
        assert_eq!(back, c);
        assert!(serde_json::from_str::<CronExpr>("\"nope\"").is_err());
    }
}
