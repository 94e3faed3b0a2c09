//! Schedules and data intervals, with Airflow's semantics.
//!
//! A scheduled run covers a data interval `[start, end)` and becomes due once `end`
//! has passed; its `logical_date` is `start`. [`Schedule::next_dagrun_info`] is a
//! pure function of the schedule, the last automated run's interval, the DAG's time
//! bounds and "now": the scheduler calls it in a loop to create every run that is due.
//!
//! Where Kairos differs from Airflow on purpose (see docs/dag-format.md):
//! - cron strings use data intervals, as in Airflow 2 (Airflow 3 defaults to
//!   `CronTriggerTimetable`, available here through its `__type__` form);
//! - with `catchup: false`, a timedelta schedule skips to the latest interval on the
//!   grid anchored at `start_date`; Airflow rounds to multiples of the delta since the
//!   Unix epoch, which shifts the intervals away from `start_date`.

mod cron;
mod localize;

pub use cron::{CronExpr, preset_names};
pub use localize::{localize, to_naive};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// When a DAG runs on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// `schedule: null` / `None` (Airflow 3's default): only manual and triggered runs.
    None,
    /// `@once`: a single run at `start_date`.
    Once,
    /// A cron string or preset: a run per interval between two cron times, due at its end.
    Cron { cron: CronExpr },
    /// Airflow's `CronTriggerTimetable`: a run at each cron time, covering
    /// `[tick - interval, tick]`; its own time zone if it names one.
    CronTrigger {
        cron: CronExpr,
        interval: Duration,
        timezone: Option<Tz>,
    },
    /// A `timedelta`: back-to-back intervals of this length, starting at `start_date`.
    Delta { delta: Duration },
}

/// The interval of data a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl DataInterval {
    pub fn exact(at: DateTime<Utc>) -> DataInterval {
        DataInterval { start: at, end: at }
    }
}

/// The next run a schedule asks for: its interval, and when it may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DagRunInfo {
    pub data_interval: DataInterval,
    /// The run is due once this time has passed.
    pub run_after: DateTime<Utc>,
}

impl DagRunInfo {
    /// Airflow's `logical_date`: the start of the data interval.
    pub fn logical_date(&self) -> DateTime<Utc> {
        self.data_interval.start
    }

    fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> DagRunInfo {
        DagRunInfo {
            data_interval: DataInterval { start, end },
            run_after: end,
        }
    }
}

/// The DAG's bounds on automated runs (Airflow's `TimeRestriction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restriction {
    /// The resolved `start_date`.
    pub earliest: Option<DateTime<Utc>>,
    /// The resolved `end_date`: no interval may start after it.
    pub latest: Option<DateTime<Utc>>,
    pub catchup: bool,
}

impl Schedule {
    /// True for schedules that create runs on their own from time.
    pub fn is_periodic(&self) -> bool {
        matches!(
            self,
            Schedule::Cron { .. } | Schedule::CronTrigger { .. } | Schedule::Delta { .. }
        )
    }

    /// True when the scheduler ever creates runs for it (periodic, or `@once`).
    pub fn can_be_scheduled(&self) -> bool {
        !matches!(self, Schedule::None)
    }

    /// A short human description, for `dags show` and the API.
    pub fn describe(&self) -> String {
        match self {
            Schedule::None => "None (manual runs only)".into(),
            Schedule::Once => "@once".into(),
            Schedule::Cron { cron } => format!("{cron} (cron, data intervals)"),
            Schedule::CronTrigger {
                cron,
                interval,
                timezone,
            } => {
                let tz = timezone.map(|t| format!(" in {t}")).unwrap_or_default();
                if interval.is_zero() {
                    format!("{cron} (cron trigger{tz})")
                } else {
                    format!("{cron} (cron trigger{tz}, interval {interval})")
                }
            }
            Schedule::Delta { delta } => format!("every {delta}"),
        }
    }

    /// The next automated run after `last` (the data interval of the latest automated
    /// run, if any), or `None` when the schedule has no further run (Airflow's
    /// `Timetable.next_dagrun_info`). `tz` is the DAG's time zone.
    pub fn next_dagrun_info(
        &self,
        tz: Tz,
        last: Option<&DataInterval>,
        restriction: &Restriction,
        now: DateTime<Utc>,
    ) -> Option<DagRunInfo> {
        let info = match self {
            Schedule::None => return None,
            Schedule::Once => {
                if last.is_some() {
                    return None;
                }
                let at = restriction.earliest.unwrap_or(now);
                DagRunInfo {
                    data_interval: DataInterval::exact(at),
                    run_after: at,
                }
            }
            Schedule::Cron { cron } => next_cron_interval(cron, tz, last, restriction, now)?,
            Schedule::CronTrigger {
                cron,
                interval,
                timezone,
            } => next_cron_trigger(
                cron,
                timezone.unwrap_or(tz),
                *interval,
                last,
                restriction,
                now,
            )?,
            Schedule::Delta { delta } => {
                next_delta_interval(delta.to_chrono(), last, restriction, now)?
            }
        };
        // Airflow bounds interval timetables by the interval's start, and the cron
        // trigger timetable by its tick.
        let bounded = match self {
            Schedule::CronTrigger { .. } => info.run_after,
            _ => info.data_interval.start,
        };
        match restriction.latest {
            Some(latest) if bounded > latest => None,
            _ => Some(info),
        }
    }

    /// The data interval of a manual run triggered for `run_after` (Airflow's
    /// `infer_manual_data_interval`): for a cron schedule the last complete interval
    /// before it, for a timedelta the delta that ends at it, else the instant itself.
    pub fn infer_manual_data_interval(&self, tz: Tz, run_after: DateTime<Utc>) -> DataInterval {
        let inferred = match self {
            Schedule::None | Schedule::Once => None,
            Schedule::Cron { cron } => cron.align_to_prev(run_after, tz).and_then(|end| {
                cron.prev_before(end, tz)
                    .map(|start| DataInterval { start, end })
            }),
            Schedule::CronTrigger { interval, .. } => run_after
                .checked_sub_signed(interval.to_chrono())
                .map(|start| DataInterval {
                    start,
                    end: run_after,
                }),
            Schedule::Delta { delta } => {
                run_after
                    .checked_sub_signed(delta.to_chrono())
                    .map(|start| DataInterval {
                        start,
                        end: run_after,
                    })
            }
        };
        inferred.unwrap_or_else(|| DataInterval::exact(run_after))
    }

    /// The first `count` runs the scheduler would create for a DAG with no runs yet,
    /// due or not (for `dags show`).
    pub fn upcoming(
        &self,
        tz: Tz,
        restriction: &Restriction,
        now: DateTime<Utc>,
        count: usize,
    ) -> Vec<DagRunInfo> {
        let mut out: Vec<DagRunInfo> = Vec::with_capacity(count.min(1024));
        while out.len() < count {
            let last = out.last().map(|i| i.data_interval);
            match self.next_dagrun_info(tz, last.as_ref(), restriction, now) {
                // A schedule must move forward; stop rather than loop on a stuck one.
                Some(info) if out.last().is_none_or(|l| info.run_after > l.run_after) => {
                    out.push(info)
                }
                _ => break,
            }
        }
        out
    }
}

/// `CronDataIntervalTimetable.next_dagrun_info` (via `_DataIntervalTimetable`).
fn next_cron_interval(
    cron: &CronExpr,
    tz: Tz,
    last: Option<&DataInterval>,
    r: &Restriction,
    now: DateTime<Utc>,
) -> Option<DagRunInfo> {
    let earliest = if r.catchup {
        match r.earliest {
            Some(e) => Some(cron.align_to_next(e, tz)?),
            None => None,
        }
    } else {
        Some(cron_skip_to_latest(cron, tz, r.earliest, now)?)
    };
    let start = match (last, earliest) {
        (None, None) => return None,
        (None, Some(e)) => e,
        (Some(l), e) => {
            let aligned = cron.align_to_prev(l.end, tz)?;
            e.map_or(aligned, |e| aligned.max(e))
        }
    };
    let end = cron.next_after(start, tz)?;
    Some(DagRunInfo::interval(start, end))
}

/// The start of the interval that most recently ended at or before `now`, but not
/// before `earliest` (Airflow's cron `_skip_to_latest`).
fn cron_skip_to_latest(
    cron: &CronExpr,
    tz: Tz,
    earliest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last_start = cron.prev_before(now, tz)?;
    let next_start = cron.next_after(last_start, tz)?;
    let new_start = if next_start == now {
        last_start
    } else {
        cron.prev_before(last_start, tz)?
    };
    match earliest {
        None => Some(new_start),
        Some(e) => Some(new_start.max(cron.align_to_next(e, tz)?)),
    }
}

/// `DeltaDataIntervalTimetable.next_dagrun_info`, with intervals anchored on `earliest`.
fn next_delta_interval(
    delta: TimeDelta,
    last: Option<&DataInterval>,
    r: &Restriction,
    now: DateTime<Utc>,
) -> Option<DagRunInfo> {
    let earliest = if r.catchup {
        r.earliest
    } else {
        Some(delta_skip_to_latest(delta, r.earliest, now)?)
    };
    let start = match (last, earliest) {
        (None, None) => return None,
        (None, Some(e)) => e,
        (Some(l), e) => e.map_or(l.end, |e| l.end.max(e)),
    };
    Some(DagRunInfo::interval(
        start,
        start.checked_add_signed(delta)?,
    ))
}

/// The start of the latest interval of the `earliest + k * delta` grid that ended at or
/// before `now` (the first interval if none has ended yet). Without a start date,
/// Airflow's rounding to multiples of the delta since the epoch.
fn delta_skip_to_latest(
    delta: TimeDelta,
    earliest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let step = delta.num_milliseconds();
    if step <= 0 {
        return earliest.or(Some(now));
    }
    match earliest {
        Some(e) if now <= e => Some(e),
        Some(e) => {
            let ended = (now - e).num_milliseconds() / step;
            let k = (ended - 1).max(0);
            e.checked_add_signed(TimeDelta::milliseconds(k.checked_mul(step)?))
        }
        None => {
            let ms = now.timestamp_millis();
            let rounded = ms - ms.rem_euclid(step);
            DateTime::from_timestamp_millis(rounded.checked_sub(step)?)
        }
    }
}

/// `CronTriggerTimetable.next_dagrun_info` (Airflow 3).
fn next_cron_trigger(
    cron: &CronExpr,
    tz: Tz,
    interval: Duration,
    last: Option<&DataInterval>,
    r: &Restriction,
    now: DateTime<Utc>,
) -> Option<DagRunInfo> {
    let next_tick = if r.catchup {
        match (last, r.earliest) {
            (Some(l), _) => cron.next_after(l.end, tz)?,
            (None, None) => first_trigger_run(cron, tz, now)?,
            (None, Some(e)) => cron.align_to_next(e, tz)?,
        }
    } else {
        let mut candidates = vec![cron.align_to_prev(now, tz)?];
        match last {
            Some(l) => candidates.push(cron.next_after(l.end, tz)?),
            None if r.earliest.is_none() => candidates.push(first_trigger_run(cron, tz, now)?),
            None => {}
        }
        if let Some(e) = r.earliest {
            candidates.push(cron.align_to_next(e, tz)?);
        }
        candidates.into_iter().max()?
    };
    let start = next_tick.checked_sub_signed(interval.to_chrono())?;
    Some(DagRunInfo {
        data_interval: DataInterval {
            start,
            end: next_tick,
        },
        run_after: next_tick,
    })
}

/// Airflow's `CronTriggerTimetable._calc_first_run` with `run_immediately=False`: the
/// past tick if it was less than a tenth of the period (at least 5 minutes) ago, else
/// the next tick.
fn first_trigger_run(cron: &CronExpr, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let past = cron.align_to_prev(now, tz)?;
    let next = cron.align_to_next(now, tz)?;
    let buffer = ((next - past) / 10).max(TimeDelta::minutes(5));
    Some(if now - past <= buffer { past } else { next })
}

#[cfg(test)]
mod tests;
