//! Wall-clock time to an instant, the way Airflow does it.
//!
//! Airflow computes cron times as naive wall-clock times in the DAG's time zone and
//! then makes them aware with `fold=1` (`airflow.utils.timezone.make_aware`): a time
//! that does not exist (inside a spring-forward gap) moves forward by the size of the
//! gap (02:30 becomes 03:30), and a time that exists twice (in the repeated hour of a
//! fall-back) is the second occurrence (standard time).

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a wall-clock time in `tz` stands for, with Airflow's DST rules.
pub fn localize(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(_first, second) => second.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a gap: read the wall time with the offset in force just before the
            // gap; the resulting instant lies after the transition, so it shows as the
            // wall time shifted forward by the gap.
            let before = (1..=48)
                .filter_map(|h| naive.checked_sub_signed(TimeDelta::hours(h)))
                .find_map(|earlier| tz.from_local_datetime(&earlier).earliest())
                .map(|t| t.offset().fix());
            match before.and_then(|offset| naive.checked_sub_offset(offset)) {
                Some(utc) => utc.and_utc(),
                // Not reachable with real tz data and sane dates (no gap lasts two
                // days); fall back to reading the wall time as UTC rather than panic.
                None => naive.and_utc(),
            }
        }
    }
}

/// The wall-clock time of an instant in `tz` (Airflow's `make_naive`).
pub fn to_naive(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn naive(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .expect("valid")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        naive(y, m, d, h, mi).and_utc()
    }

    #[test]
    fn ordinary_times() {
        let tz: Tz = "Europe/Paris".parse().expect("tz");
        assert_eq!(
            localize(naive(2024, 1, 15, 12, 0), tz),
            utc(2024, 1, 15, 11, 0)
        );
        assert_eq!(
            localize(naive(2024, 7, 15, 12, 0), tz),
            utc(2024, 7, 15, 10, 0)
        );
    }

    #[test]
    fn gap_moves_forward() {
        // Paris, 2013-03-31: 02:00 CET jumps to 03:00 CEST. 02:30 -> 03:30+02:00 = 01:30Z.
        let tz: Tz = "Europe/Paris".parse().expect("tz");
        assert_eq!(
            localize(naive(2013, 3, 31, 2, 30), tz),
            utc(2013, 3, 31, 1, 30)
        );
    }

    #[test]
    fn fold_takes_the_second_occurrence() {
        // Paris, 2013-10-27: 03:00 CEST falls back to 02:00 CET. 02:30 -> 02:30+01:00 = 01:30Z.
        let tz: Tz = "Europe/Paris".parse().expect("tz");
        assert_eq!(
            localize(naive(2013, 10, 27, 2, 30), tz),
            utc(2013, 10, 27, 1, 30)
        );
    }
}
