//! Tests of cron expressions: Unix weekdays, names, steps and wrapping ranges, presets,
//! error messages, alignment and the written form.

use super::*;
use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

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
