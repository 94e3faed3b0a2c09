//! The index family's layout: derived state kept beside the records so that each
//! question the scheduler asks on its hot path is one short prefix scan or point read.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `S` | priority (inverted) · run date · task instance | [`Candidate`]: a `scheduled` instance waiting for capacity |
//! | `Q` | queue · priority (inverted) · run date · task instance | [`TaskInstanceKey`]: `queued`, waiting for a worker |
//! | `R` | task instance | [`RunningAttempt`]: an attempt a worker holds |
//! | `T` | due time · kind · target | [`Timer`] |
//! | `W` | DAG · group · run date · run id | run id: a `queued` run waiting for `max_active_runs` |
//! | `D` | DAG · run date · run id | run id: every run by date (for `depends_on_past`) |
//! | `C` | counter name ([`counter`]) | count (JSON integer) |
//! | `F` | flag name | flag value |
//! | `H` | task instance · try number | [`crate::records::TryRecord`]: each attempt that ended (not derived: history) |
//! | `K` | DAG · run id | [`crate::records::DagCallbackRecord`]: a DAG's callbacks for an ended run (not derived) |
//! | `P` | queue · DAG · run id | `()`: a DAG callback no worker has taken yet |
//!
//! Every entry is written by apply in the same transaction as the record it derives
//! from, and a test recomputes the counters from the records and compares.
//!
//! [`Candidate`]: crate::records::Candidate
//! [`RunningAttempt`]: crate::records::RunningAttempt
//! [`Timer`]: crate::records::Timer

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;

use super::bytes::{inverted_priority, join, prefix, time_bytes};
use super::primary;
use crate::records::{TaskInstanceRecord, Timer};

pub const SCHEDULED: &[u8] = b"S";
pub const QUEUED: &[u8] = b"Q";
pub const RUNNING: &[u8] = b"R";
pub const TIMERS: &[u8] = b"T";
pub const WAITING_RUNS: &[u8] = b"W";
pub const RUNS_BY_DATE: &[u8] = b"D";
pub const COUNTERS: &[u8] = b"C";
pub const TRIES: &[u8] = b"H";
pub const DAG_CALLBACKS: &[u8] = b"K";
pub const PENDING_DAG_CALLBACKS: &[u8] = b"P";
/// Where the queueing pass stopped when it ran out of budget (a key of `S`).
pub const QUEUE_CURSOR: &[u8] = b"Fqueue_cursor";

fn ti_bytes(ti: &TaskInstanceRecord) -> Vec<u8> {
    primary::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index)
}

fn ordered(prefix: &[u8], ti: &TaskInstanceRecord) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&inverted_priority(ti.priority_weight));
    key.extend_from_slice(&time_bytes(ti.run_date.unwrap_or(DateTime::UNIX_EPOCH)));
    key.extend_from_slice(&ti_bytes(ti));
    key
}

pub fn scheduled(ti: &TaskInstanceRecord) -> Vec<u8> {
    ordered(SCHEDULED, ti)
}

pub fn queued_prefix(queue: &str) -> Vec<u8> {
    let mut key = QUEUED.to_vec();
    key.extend_from_slice(queue.as_bytes());
    key.push(0);
    key
}

pub fn queued(ti: &TaskInstanceRecord) -> Vec<u8> {
    ordered(&queued_prefix(&ti.queue), ti)
}

/// The scan hint a key of this family belongs to, if any: the indexes consumed
/// from their front (the scheduled and queued instances, the timers), whose
/// fronts fill with tombstones (see `crate::scan_hint`).
pub(crate) fn hinted_prefix_of(key: &[u8]) -> Option<&[u8]> {
    if key.starts_with(SCHEDULED) {
        Some(SCHEDULED)
    } else if key.starts_with(TIMERS) {
        Some(TIMERS)
    } else {
        queued_prefix_of(key)
    }
}

/// The queue prefix of a queued-index key (up to and with the 0 after the queue).
pub(crate) fn queued_prefix_of(key: &[u8]) -> Option<&[u8]> {
    let rest = key.strip_prefix(QUEUED)?;
    let end = rest.iter().position(|b| *b == 0)?;
    key.get(..QUEUED.len() + end + 1)
}

/// The queue a queued-index key belongs to.
pub fn queue_of(key: &[u8]) -> Option<String> {
    let prefix = queued_prefix_of(key)?;
    let name = prefix.get(QUEUED.len()..prefix.len() - 1)?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// The tries of one task instance, in try order.
pub fn tries_prefix(ti: &TaskInstanceKey) -> Vec<u8> {
    let mut key = TRIES.to_vec();
    key.extend_from_slice(&primary::ti(ti));
    key.push(0);
    key
}

pub fn try_key(ti: &TaskInstanceKey, try_number: u32) -> Vec<u8> {
    let mut key = tries_prefix(ti);
    key.extend_from_slice(&try_number.to_be_bytes());
    key
}

/// The DAG callback record of a run.
pub fn dag_callback(dag_id: &str, run_id: &str) -> Vec<u8> {
    let mut key = DAG_CALLBACKS.to_vec();
    key.extend_from_slice(&primary::run(dag_id, run_id));
    key
}

/// The DAG callbacks of `queue` no worker has taken, in DAG and run order.
pub fn pending_dag_callbacks(queue: &str) -> Vec<u8> {
    let mut key = PENDING_DAG_CALLBACKS.to_vec();
    key.extend_from_slice(queue.as_bytes());
    key.push(0);
    key
}

pub fn pending_dag_callback(queue: &str, dag_id: &str, run_id: &str) -> Vec<u8> {
    let mut key = pending_dag_callbacks(queue);
    key.extend_from_slice(&primary::run(dag_id, run_id));
    key
}

pub fn running(ti: &TaskInstanceKey) -> Vec<u8> {
    let mut key = RUNNING.to_vec();
    key.extend_from_slice(&primary::ti(ti));
    key
}

pub fn timer(at: DateTime<Utc>, timer: &Timer) -> Vec<u8> {
    let mut key = TIMERS.to_vec();
    key.extend_from_slice(&time_bytes(at));
    let (kind, target): (u8, Vec<u8>) = match timer {
        Timer::Ready { ti } => (b'r', primary::ti(ti)),
        Timer::SensorDue { ti } => (b's', primary::ti(ti)),
        Timer::SensorTimeout { ti } => (b'o', primary::ti(ti)),
        Timer::ExecutionTimeout { ti, attempt } => {
            let mut k = primary::ti(ti);
            k.push(0);
            k.extend_from_slice(attempt.as_bytes());
            (b'e', k)
        }
        Timer::RunTimeout { dag_id, run_id } => (b't', primary::run(dag_id, run_id)),
    };
    key.push(kind);
    key.extend_from_slice(&target);
    key
}

/// The time a timer key is due at.
pub fn timer_due(key: &[u8]) -> Option<DateTime<Utc>> {
    super::bytes::time_from_bytes(key.strip_prefix(TIMERS)?)
}

pub fn waiting_prefix(dag_id: &str, group: &str) -> Vec<u8> {
    let mut key = WAITING_RUNS.to_vec();
    key.extend_from_slice(&prefix(&[dag_id.as_bytes(), group.as_bytes()]));
    key
}

pub fn waiting_run(dag_id: &str, group: &str, date: DateTime<Utc>, run_id: &str) -> Vec<u8> {
    let mut key = waiting_prefix(dag_id, group);
    key.extend_from_slice(&time_bytes(date));
    key.extend_from_slice(run_id.as_bytes());
    key
}

pub fn runs_by_date_prefix(dag_id: &str) -> Vec<u8> {
    let mut key = RUNS_BY_DATE.to_vec();
    key.extend_from_slice(dag_id.as_bytes());
    key.push(0);
    key
}

/// The key of a DAG's runs by date at `date` (without the run id: where a scan
/// for the first run at or after `date` starts).
pub fn runs_by_date_at(dag_id: &str, date: DateTime<Utc>) -> Vec<u8> {
    let mut key = runs_by_date_prefix(dag_id);
    key.extend_from_slice(&time_bytes(date));
    key
}

pub fn run_by_date(dag_id: &str, date: DateTime<Utc>, run_id: &str) -> Vec<u8> {
    let mut key = runs_by_date_at(dag_id, date);
    key.extend_from_slice(run_id.as_bytes());
    key
}

/// Counter names (under `C`); their arithmetic is `crate::engine::counters`.
pub mod counter {
    use super::join;

    fn named(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
        let mut key = vec![b'C', kind];
        key.extend_from_slice(&join(parts));
        key
    }
    /// Slots occupied in a pool (sum of `pool_slots` of queued and running instances).
    pub fn pool(pool: &str) -> Vec<u8> {
        named(b'p', &[pool.as_bytes()])
    }
    /// Queued and running instances of a DAG (`max_active_tasks`).
    pub fn dag(dag_id: &str) -> Vec<u8> {
        named(b'd', &[dag_id.as_bytes()])
    }
    /// ... of one task across runs (`max_active_tis_per_dag`).
    pub fn task(dag_id: &str, task_id: &str) -> Vec<u8> {
        named(b't', &[dag_id.as_bytes(), task_id.as_bytes()])
    }
    /// ... of one task in one run (`max_active_tis_per_dagrun`).
    pub fn run_task(dag_id: &str, run_id: &str, task_id: &str) -> Vec<u8> {
        named(
            b'r',
            &[dag_id.as_bytes(), run_id.as_bytes(), task_id.as_bytes()],
        )
    }
    /// ... in the whole cluster (`parallelism`).
    pub fn global() -> Vec<u8> {
        named(b'g', &[])
    }
    /// Unfinished task instances of a run: the run can finish when it reaches 0.
    pub fn unfinished(dag_id: &str, run_id: &str) -> Vec<u8> {
        named(b'u', &[dag_id.as_bytes(), run_id.as_bytes()])
    }
    /// Queued runs of a DAG's group (its own runs, or a backfill's).
    pub fn queued_runs(dag_id: &str, group: &str) -> Vec<u8> {
        named(b'q', &[dag_id.as_bytes(), group.as_bytes()])
    }
    /// Running runs of a group (`max_active_runs`).
    pub fn running_runs(dag_id: &str, group: &str) -> Vec<u8> {
        named(b'n', &[dag_id.as_bytes(), group.as_bytes()])
    }
}

/// The prefix backfills sat under in this family before they had their own
/// (`crate::migrate` moves them).
pub(crate) const LEGACY_BACKFILL_PREFIX: &[u8] = b"Fbackfill/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_key_names_its_queue() {
        let mut key = queued_prefix("gpu");
        key.extend_from_slice(b"\x00\x00rest");
        assert_eq!(queue_of(&key).as_deref(), Some("gpu"));
        assert_eq!(queued_prefix_of(&key), Some(&queued_prefix("gpu")[..]));
        assert_eq!(queue_of(b"Sxyz"), None);
    }
}
