//! The index family: derived state kept beside the records so that each question the
//! scheduler asks on its hot path is one short prefix scan or point read.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `S` | priority (inverted) · run date · task instance | [`Candidate`]: a `scheduled` instance waiting for capacity |
//! | `Q` | queue · priority (inverted) · run date · task instance | [`TaskInstanceKey`]: `queued`, waiting for a worker |
//! | `R` | task instance | [`RunningAttempt`]: an attempt a worker holds |
//! | `T` | due time · kind · target | [`Timer`] |
//! | `W` | DAG · group · run date · run id | run id: a `queued` run waiting for `max_active_runs` |
//! | `D` | DAG · run date · run id | run id: every run by date (for `depends_on_past`) |
//! | `C` | counter name | count (JSON integer) |
//! | `F` | flag name | flag value |
//! | `H` | task instance · try number | [`crate::records::TryRecord`]: each attempt that ended (not derived: history) |
//!
//! Every entry is written by apply in the same transaction as the record it derives
//! from, and a test recomputes the counters from the records and compares.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::command::TaskInstanceKey;
use crate::keys::{self, Cf, join};
use crate::records::TaskInstanceRecord;
use crate::store::StoreError;
use crate::txn::Txn;

pub const SCHEDULED: &[u8] = b"S";
pub const QUEUED: &[u8] = b"Q";
pub const RUNNING: &[u8] = b"R";
pub const TIMERS: &[u8] = b"T";
pub const WAITING_RUNS: &[u8] = b"W";
pub const RUNS_BY_DATE: &[u8] = b"D";
pub const COUNTERS: &[u8] = b"C";
pub const TRIES: &[u8] = b"H";
/// Where the queueing pass stopped when it ran out of budget (a key of `S`).
pub const QUEUE_CURSOR: &[u8] = b"Fqueue_cursor";

/// Microseconds since the epoch, sign bit flipped, so that times sort as bytes.
pub fn time_bytes(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn time_from_bytes(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let raw: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    DateTime::from_timestamp_micros((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
}

/// Higher weights sort first.
fn inverted_priority(weight: i32) -> [u8; 4] {
    ((i64::from(i32::MAX) - i64::from(weight)) as u32).to_be_bytes()
}

fn ti_bytes(ti: &TaskInstanceRecord) -> Vec<u8> {
    keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index)
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

/// The scan hint a key of this family belongs to, if any: the indexes consumed
/// from their front (the scheduled and queued instances, the timers), whose
/// fronts fill with tombstones (see [`crate::scan_hint`]).
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

pub fn queued(ti: &TaskInstanceRecord) -> Vec<u8> {
    ordered(&queued_prefix(&ti.queue), ti)
}

/// The tries of one task instance, in try order.
pub fn tries_prefix(ti: &TaskInstanceKey) -> Vec<u8> {
    let mut key = TRIES.to_vec();
    key.extend_from_slice(&key_of(ti));
    key.push(0);
    key
}

pub fn try_key(ti: &TaskInstanceKey, try_number: u32) -> Vec<u8> {
    let mut key = tries_prefix(ti);
    key.extend_from_slice(&try_number.to_be_bytes());
    key
}

pub fn running(ti: &TaskInstanceKey) -> Vec<u8> {
    let mut key = RUNNING.to_vec();
    key.extend_from_slice(&keys::task_instance(
        &ti.dag_id,
        &ti.run_id,
        &ti.task_id,
        ti.map_index,
    ));
    key
}

pub fn timer(at: DateTime<Utc>, timer: &Timer) -> Vec<u8> {
    let mut key = TIMERS.to_vec();
    key.extend_from_slice(&time_bytes(at));
    let (kind, target): (u8, Vec<u8>) = match timer {
        Timer::Ready { ti } => (b'r', key_of(ti)),
        Timer::SensorDue { ti } => (b's', key_of(ti)),
        Timer::SensorTimeout { ti } => (b'o', key_of(ti)),
        Timer::ExecutionTimeout { ti, attempt } => {
            let mut k = key_of(ti);
            k.push(0);
            k.extend_from_slice(attempt.as_bytes());
            (b'e', k)
        }
        Timer::RunTimeout { dag_id, run_id } => (b't', keys::run(dag_id, run_id)),
    };
    key.push(kind);
    key.extend_from_slice(&target);
    key
}

fn key_of(ti: &TaskInstanceKey) -> Vec<u8> {
    keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index)
}

pub fn waiting_prefix(dag_id: &str, group: &str) -> Vec<u8> {
    let mut key = WAITING_RUNS.to_vec();
    key.extend_from_slice(&join(&[dag_id.as_bytes(), group.as_bytes()]));
    key.push(0);
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

pub fn run_by_date(dag_id: &str, date: DateTime<Utc>, run_id: &str) -> Vec<u8> {
    let mut key = runs_by_date_prefix(dag_id);
    key.extend_from_slice(&time_bytes(date));
    key.extend_from_slice(run_id.as_bytes());
    key
}

/// A `scheduled` task instance and what the queueing pass checks before loading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub ti: TaskInstanceKey,
    pub pool: String,
    pub pool_slots: u32,
    pub max_active_tasks: u32,
    pub max_active_tis_per_dag: Option<u32>,
    pub max_active_tis_per_dagrun: Option<u32>,
}

/// An attempt a worker holds: what a new leader re-arms leases from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningAttempt {
    pub ti: TaskInstanceKey,
    pub attempt: String,
    pub worker: Option<String>,
}

/// Something that must happen at a time. Timers are state (so every new leader
/// finds them) and are checked when they fire: one that no longer applies (the
/// task moved on) is dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum Timer {
    /// An `up_for_retry` / `up_for_reschedule` instance may run again.
    Ready { ti: TaskInstanceKey },
    /// A server-side time sensor's moment has come.
    SensorDue { ti: TaskInstanceKey },
    /// A server-side sensor waited longer than its `timeout`.
    SensorTimeout { ti: TaskInstanceKey },
    /// An attempt ran past `execution_timeout` plus a grace period with no report.
    ExecutionTimeout {
        ti: TaskInstanceKey,
        attempt: String,
    },
    /// A run reached its `dagrun_timeout`.
    RunTimeout { dag_id: String, run_id: String },
}

/// Counter names.
pub mod counter {
    use crate::keys::join;

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

pub(crate) fn count(txn: &Txn<'_>, key: &[u8]) -> Result<i64, StoreError> {
    Ok(txn.get::<i64>(Cf::Index, key)?.unwrap_or(0))
}

/// Adds `delta` to a counter; a counter back at zero is deleted, so that the state
/// after a workload is the same whatever counters it passed through.
pub(crate) fn add(txn: &mut Txn<'_>, key: Vec<u8>, delta: i64) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let value = count(txn, &key)? + delta;
    if value == 0 {
        txn.delete(Cf::Index, key);
    } else {
        txn.put(Cf::Index, key, &value);
    }
    Ok(())
}
