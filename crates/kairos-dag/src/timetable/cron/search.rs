//! The next and previous fire time of a cron expression in a time zone, with Airflow's
//! DST rules (elapsed time for every-hour expressions, wall-clock time otherwise).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::CronExpr;
use crate::timetable::localize::{localize, to_naive};

/// How many cron times to step over while looking for one on the right side of
/// `current` after DST localization; two always suffice, this leaves margin.
const MAX_DST_STEPS: usize = 8;

impl CronExpr {
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
