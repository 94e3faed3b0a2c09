//! Table-driven tests of data intervals. Every expected interval below was computed by
//! hand (UTC offsets of each zone on each date written next to it).

use super::*;
use chrono::TimeZone;

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("valid")
}

fn tz(name: &str) -> Tz {
    name.parse().expect("known zone")
}

fn cron(text: &str) -> Schedule {
    Schedule::Cron {
        cron: CronExpr::parse(text).expect("cron"),
    }
}

fn delta(secs: u64) -> Schedule {
    Schedule::Delta {
        delta: Duration::from_secs(secs),
    }
}

fn restr(earliest: Option<DateTime<Utc>>, catchup: bool) -> Restriction {
    Restriction {
        earliest,
        latest: None,
        catchup,
    }
}

/// The intervals the scheduler would create, in order, starting with no runs.
fn intervals(
    s: &Schedule,
    zone: Tz,
    r: &Restriction,
    now: DateTime<Utc>,
    n: usize,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    s.upcoming(zone, r, now, n)
        .into_iter()
        .map(|i| (i.data_interval.start, i.data_interval.end))
        .collect()
}

/// Intervals due by `now` (run_after <= now), as the scheduler's catch-up would create.
fn due(s: &Schedule, zone: Tz, r: &Restriction, now: DateTime<Utc>) -> Vec<DagRunInfo> {
    s.upcoming(zone, r, now, 10_000)
        .into_iter()
        .take_while(|i| i.run_after <= now)
        .collect()
}

#[test]
fn daily_catchup_over_a_week_gives_seven_runs() {
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), true);
    let runs = due(&cron("@daily"), Tz::UTC, &r, utc(2024, 1, 8, 0, 0));
    assert_eq!(runs.len(), 7);
    assert_eq!(runs[0].data_interval.start, utc(2024, 1, 1, 0, 0));
    assert_eq!(runs[0].data_interval.end, utc(2024, 1, 2, 0, 0));
    assert_eq!(runs[0].logical_date(), utc(2024, 1, 1, 0, 0));
    assert_eq!(runs[0].run_after, utc(2024, 1, 2, 0, 0));
    assert_eq!(runs[6].data_interval.start, utc(2024, 1, 7, 0, 0));
}

#[test]
fn daily_without_catchup_gives_only_the_latest() {
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), false);
    for now in [utc(2024, 1, 8, 10, 0), utc(2024, 1, 8, 0, 0)] {
        let runs = due(&cron("@daily"), Tz::UTC, &r, now);
        assert_eq!(runs.len(), 1, "now {now}");
        assert_eq!(
            runs[0].data_interval,
            DataInterval {
                start: utc(2024, 1, 7, 0, 0),
                end: utc(2024, 1, 8, 0, 0)
            }
        );
    }
}

#[test]
fn catchup_false_after_a_gap_skips_to_the_latest() {
    let s = cron("@daily");
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), false);
    let last = DataInterval {
        start: utc(2024, 1, 2, 0, 0),
        end: utc(2024, 1, 3, 0, 0),
    };
    let next = s
        .next_dagrun_info(Tz::UTC, Some(&last), &r, utc(2024, 1, 10, 5, 0))
        .expect("next");
    assert_eq!(next.data_interval.start, utc(2024, 1, 9, 0, 0));
    // With catchup, the next one follows the last.
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), true);
    let next = s
        .next_dagrun_info(Tz::UTC, Some(&last), &r, utc(2024, 1, 10, 5, 0))
        .expect("next");
    assert_eq!(next.data_interval.start, utc(2024, 1, 3, 0, 0));
}

#[test]
fn start_date_not_on_the_schedule_aligns_forward() {
    let r = restr(Some(utc(2024, 1, 1, 10, 30)), true);
    let got = intervals(&cron("0 * * * *"), Tz::UTC, &r, utc(2024, 1, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 1, 1, 11, 0), utc(2024, 1, 1, 12, 0)),
            (utc(2024, 1, 1, 12, 0), utc(2024, 1, 1, 13, 0)),
        ]
    );
}

#[test]
fn end_date_bounds_interval_starts() {
    let r = Restriction {
        earliest: Some(utc(2024, 1, 1, 0, 0)),
        latest: Some(utc(2024, 1, 3, 0, 0)),
        catchup: true,
    };
    let got = intervals(&cron("@daily"), Tz::UTC, &r, utc(2024, 2, 1, 0, 0), 10);
    // Airflow stops once an interval would *start* after end_date.
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].0, utc(2024, 1, 3, 0, 0));
}

#[test]
fn dst_spring_forward_daily_in_paris() {
    // Europe/Paris 2024-03-31: 02:00 CET (+01) jumps to 03:00 CEST (+02).
    // `0 2 * * *`: 03-30 02:00+01 = 01:00Z; 03-31 02:00 does not exist -> 03:00+02 = 01:00Z;
    // 04-01 02:00+02 = 00:00Z. (Airflow's own align step skips the first interval here,
    // because its `_get_prev` of 01:00Z returns 01:00Z itself; Kairos does not.)
    let zone = tz("Europe/Paris");
    let r = restr(Some(utc(2024, 3, 30, 1, 0)), true);
    let got = intervals(&cron("0 2 * * *"), zone, &r, utc(2024, 3, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 3, 30, 1, 0), utc(2024, 3, 31, 1, 0)),
            (utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 0)),
        ]
    );
}

#[test]
fn dst_fall_back_daily_in_paris() {
    // Europe/Paris 2024-10-27: 03:00 CEST (+02) falls back to 02:00 CET (+01).
    // `30 2 * * *`: 10-26 02:30+02 = 00:30Z; 10-27 02:30 happens twice, the second
    // (+01) = 01:30Z; 10-28 02:30+01 = 01:30Z. The day of the change lasts 25 hours.
    let zone = tz("Europe/Paris");
    let r = restr(Some(utc(2024, 10, 26, 0, 30)), true);
    let got = intervals(&cron("30 2 * * *"), zone, &r, utc(2024, 10, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 1, 30)),
            (utc(2024, 10, 27, 1, 30), utc(2024, 10, 28, 1, 30)),
        ]
    );
}

#[test]
fn dst_hourly_runs_every_real_hour_in_new_york() {
    // America/New_York 2024-11-03: 02:00 EDT (-04) falls back to 01:00 EST (-05).
    // Hour field `*`: Airflow steps in elapsed time, so the repeated hour runs twice.
    let zone = tz("America/New_York");
    let r = restr(Some(utc(2024, 11, 3, 4, 0)), true);
    let got = intervals(&cron("0 * * * *"), zone, &r, utc(2024, 11, 1, 0, 0), 4);
    assert_eq!(
        got,
        vec![
            (utc(2024, 11, 3, 4, 0), utc(2024, 11, 3, 5, 0)), // 00:00 EDT - 01:00 EDT
            (utc(2024, 11, 3, 5, 0), utc(2024, 11, 3, 6, 0)), // 01:00 EDT - 01:00 EST
            (utc(2024, 11, 3, 6, 0), utc(2024, 11, 3, 7, 0)), // 01:00 EST - 02:00 EST
            (utc(2024, 11, 3, 7, 0), utc(2024, 11, 3, 8, 0)),
        ]
    );
    // Spring forward 2024-03-10: 02:00 EST jumps to 03:00 EDT; no hour is lost either.
    let r = restr(Some(utc(2024, 3, 10, 6, 0)), true);
    let got = intervals(&cron("0 * * * *"), zone, &r, utc(2024, 3, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 3, 10, 6, 0), utc(2024, 3, 10, 7, 0)), // 01:00 EST - 03:00 EDT
            (utc(2024, 3, 10, 7, 0), utc(2024, 3, 10, 8, 0)),
        ]
    );
}

#[test]
fn month_ends_and_leap_years() {
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), true);
    let got = intervals(&cron("@monthly"), Tz::UTC, &r, utc(2024, 1, 1, 0, 0), 3);
    assert_eq!(
        got,
        vec![
            (utc(2024, 1, 1, 0, 0), utc(2024, 2, 1, 0, 0)),
            (utc(2024, 2, 1, 0, 0), utc(2024, 3, 1, 0, 0)), // 29 days: 2024 is a leap year
            (utc(2024, 3, 1, 0, 0), utc(2024, 4, 1, 0, 0)),
        ]
    );
    // The 31st skips the months that have no 31st.
    let r = restr(Some(utc(2024, 1, 31, 0, 0)), true);
    let got = intervals(&cron("0 0 31 * *"), Tz::UTC, &r, utc(2024, 1, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 1, 31, 0, 0), utc(2024, 3, 31, 0, 0)),
            (utc(2024, 3, 31, 0, 0), utc(2024, 5, 31, 0, 0)),
        ]
    );
    // Leap day only: four years apart.
    let r = restr(Some(utc(2024, 2, 29, 0, 0)), true);
    let got = intervals(&cron("0 0 29 2 *"), Tz::UTC, &r, utc(2024, 1, 1, 0, 0), 1);
    assert_eq!(got, vec![(utc(2024, 2, 29, 0, 0), utc(2028, 2, 29, 0, 0))]);
    // Last day of the month.
    let r = restr(Some(utc(2023, 2, 1, 0, 0)), true);
    let got = intervals(&cron("0 0 L * *"), Tz::UTC, &r, utc(2023, 1, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2023, 2, 28, 0, 0), utc(2023, 3, 31, 0, 0)),
            (utc(2023, 3, 31, 0, 0), utc(2023, 4, 30, 0, 0)),
        ]
    );
}

#[test]
fn daily_in_a_zone_east_of_utc() {
    // Asia/Tokyo is +09 all year: local midnight is 15:00Z the day before.
    let zone = tz("Asia/Tokyo");
    let r = restr(Some(utc(2023, 12, 31, 15, 0)), true);
    let got = intervals(&cron("@daily"), zone, &r, utc(2024, 1, 1, 0, 0), 2);
    assert_eq!(
        got,
        vec![
            (utc(2023, 12, 31, 15, 0), utc(2024, 1, 1, 15, 0)),
            (utc(2024, 1, 1, 15, 0), utc(2024, 1, 2, 15, 0)),
        ]
    );
}

#[test]
fn timedelta_intervals_anchor_on_start_date() {
    let three_days = delta(3 * 86400);
    let start = utc(2024, 1, 1, 6, 0);
    let r = restr(Some(start), true);
    let got = intervals(&three_days, Tz::UTC, &r, utc(2024, 1, 1, 0, 0), 3);
    assert_eq!(
        got,
        vec![
            (utc(2024, 1, 1, 6, 0), utc(2024, 1, 4, 6, 0)),
            (utc(2024, 1, 4, 6, 0), utc(2024, 1, 7, 6, 0)),
            (utc(2024, 1, 7, 6, 0), utc(2024, 1, 10, 6, 0)),
        ]
    );
    // Without catchup: the latest interval of that same grid that has ended by `now`.
    let r = restr(Some(start), false);
    let runs = due(&three_days, Tz::UTC, &r, utc(2024, 1, 20, 0, 0));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].data_interval.start, utc(2024, 1, 16, 6, 0));
    assert_eq!(runs[0].data_interval.end, utc(2024, 1, 19, 6, 0));
    // Before the first interval has ended, the first interval is next.
    let runs = intervals(&three_days, Tz::UTC, &r, utc(2024, 1, 2, 0, 0), 1);
    assert_eq!(runs[0].0, start);
}

#[test]
fn timedelta_keeps_absolute_time_across_dst() {
    // 24 hours, not "the same wall time tomorrow": across Paris' spring forward the
    // wall time moves from 00:00 to 01:00.
    let r = restr(Some(utc(2024, 3, 30, 23, 0)), true); // 03-31 00:00+01
    let got = intervals(
        &delta(86400),
        tz("Europe/Paris"),
        &r,
        utc(2024, 3, 1, 0, 0),
        1,
    );
    assert_eq!(
        got,
        vec![(utc(2024, 3, 30, 23, 0), utc(2024, 3, 31, 23, 0))]
    );
}

#[test]
fn once_runs_at_start_date_then_never() {
    let r = restr(Some(utc(2024, 5, 1, 0, 0)), true);
    let first = Schedule::Once
        .next_dagrun_info(Tz::UTC, None, &r, utc(2024, 6, 1, 0, 0))
        .expect("first");
    assert_eq!(
        first.data_interval,
        DataInterval::exact(utc(2024, 5, 1, 0, 0))
    );
    assert_eq!(first.run_after, utc(2024, 5, 1, 0, 0));
    assert_eq!(
        Schedule::Once.next_dagrun_info(
            Tz::UTC,
            Some(&first.data_interval),
            &r,
            utc(2024, 6, 1, 0, 0)
        ),
        None
    );
}

#[test]
fn no_schedule_never_runs_on_its_own() {
    let r = restr(Some(utc(2024, 5, 1, 0, 0)), true);
    assert_eq!(
        Schedule::None.next_dagrun_info(Tz::UTC, None, &r, utc(2024, 6, 1, 0, 0)),
        None
    );
}

#[test]
fn cron_trigger_runs_at_the_tick() {
    let s = Schedule::CronTrigger {
        cron: CronExpr::parse("0 * * * *").expect("cron"),
        interval: Duration::ZERO,
        timezone: None,
    };
    // Without catchup: the most recent tick, now.
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), false);
    let info = s
        .next_dagrun_info(Tz::UTC, None, &r, utc(2024, 1, 1, 10, 30))
        .expect("info");
    assert_eq!(info.run_after, utc(2024, 1, 1, 10, 0));
    assert_eq!(
        info.data_interval,
        DataInterval::exact(utc(2024, 1, 1, 10, 0))
    );
    // Then the following tick.
    let info = s
        .next_dagrun_info(
            Tz::UTC,
            Some(&info.data_interval),
            &r,
            utc(2024, 1, 1, 10, 30),
        )
        .expect("info");
    assert_eq!(info.run_after, utc(2024, 1, 1, 11, 0));
    // With catchup: from the start date, each tick in turn.
    let r = restr(Some(utc(2024, 1, 1, 0, 0)), true);
    let got = intervals(&s, Tz::UTC, &r, utc(2024, 1, 1, 10, 30), 2);
    assert_eq!(
        got,
        vec![
            (utc(2024, 1, 1, 0, 0), utc(2024, 1, 1, 0, 0)),
            (utc(2024, 1, 1, 1, 0), utc(2024, 1, 1, 1, 0)),
        ]
    );
    // An interval makes the data interval end at the tick.
    let s = Schedule::CronTrigger {
        cron: CronExpr::parse("@daily").expect("cron"),
        interval: Duration::from_secs(86400),
        timezone: Some(tz("Asia/Tokyo")),
    };
    let info = s
        .next_dagrun_info(
            Tz::UTC,
            None,
            &restr(Some(utc(2024, 1, 1, 0, 0)), true),
            utc(2024, 1, 1, 0, 0),
        )
        .expect("info");
    assert_eq!(info.run_after, utc(2024, 1, 1, 15, 0));
    assert_eq!(info.data_interval.start, utc(2023, 12, 31, 15, 0));
}

#[test]
fn cron_trigger_end_date_bounds_the_tick() {
    // An interval makes each run start a day before its tick; end_date bounds the tick.
    let s = Schedule::CronTrigger {
        cron: CronExpr::parse("@daily").expect("cron"),
        interval: Duration::from_secs(86400),
        timezone: None,
    };
    let r = Restriction {
        earliest: Some(utc(2024, 1, 1, 0, 0)),
        latest: Some(utc(2024, 1, 3, 12, 0)),
        catchup: true,
    };
    let ticks: Vec<_> = s
        .upcoming(Tz::UTC, &r, utc(2024, 2, 1, 0, 0), 10)
        .into_iter()
        .map(|i| i.run_after)
        .collect();
    assert_eq!(
        ticks,
        vec![
            utc(2024, 1, 1, 0, 0),
            utc(2024, 1, 2, 0, 0),
            utc(2024, 1, 3, 0, 0)
        ]
    );
}

#[test]
fn every_hour_spelled_differently_keeps_elapsed_time_on_dst_days() {
    // Europe/London 2024-10-27: 02:00 BST falls back to 01:00 GMT. `0 */1 * * *` must
    // behave like `0 * * * *`: one run per real hour, 01:00 BST included.
    let zone = tz("Europe/London");
    let r = restr(Some(utc(2024, 10, 26, 23, 0)), true);
    let a = intervals(&cron("0 */1 * * *"), zone, &r, utc(2024, 10, 1, 0, 0), 4);
    let b = intervals(&cron("0 * * * *"), zone, &r, utc(2024, 10, 1, 0, 0), 4);
    assert_eq!(a, b);
    assert!(
        a.iter()
            .all(|(s, e)| *e - *s == chrono::TimeDelta::hours(1)),
        "{a:?}"
    );
}

#[test]
fn manual_runs_infer_their_interval_like_airflow() {
    // Cron: the last complete interval before the trigger time.
    let i = cron("@daily").infer_manual_data_interval(Tz::UTC, utc(2024, 1, 25, 1, 0));
    assert_eq!(
        i,
        DataInterval {
            start: utc(2024, 1, 24, 0, 0),
            end: utc(2024, 1, 25, 0, 0)
        }
    );
    // On a boundary, the interval that ends there.
    let i = cron("@daily").infer_manual_data_interval(Tz::UTC, utc(2024, 1, 25, 0, 0));
    assert_eq!(i.start, utc(2024, 1, 24, 0, 0));
    // Timedelta: the delta that ends at the trigger time.
    let i = delta(3600).infer_manual_data_interval(Tz::UTC, utc(2024, 1, 25, 1, 30));
    assert_eq!(
        i,
        DataInterval {
            start: utc(2024, 1, 25, 0, 30),
            end: utc(2024, 1, 25, 1, 30)
        }
    );
    // No schedule: the instant itself.
    let i = Schedule::None.infer_manual_data_interval(Tz::UTC, utc(2024, 1, 25, 1, 30));
    assert_eq!(i, DataInterval::exact(utc(2024, 1, 25, 1, 30)));
}

#[test]
fn weekly_in_a_dst_zone_keeps_wall_time() {
    // `0 9 * * 1` in Europe/London across the spring change of 2024-03-31:
    // 03-25 09:00 GMT = 09:00Z, 04-01 09:00 BST = 08:00Z.
    let zone = tz("Europe/London");
    let r = restr(Some(utc(2024, 3, 25, 9, 0)), true);
    let got = intervals(&cron("0 9 * * 1"), zone, &r, utc(2024, 3, 1, 0, 0), 1);
    assert_eq!(got, vec![(utc(2024, 3, 25, 9, 0), utc(2024, 4, 1, 8, 0))]);
}
