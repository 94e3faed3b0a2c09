//! The scheduler's deterministic half: readiness, trigger-rule propagation, limits
//! and queueing, run lifecycle and timers, all inside apply.
//!
//! A command handler (`crate::apply`) changes records through this module and leaves
//! work in a [`sched::Sched`]; before the command ends, [`settle::settle`] carries it
//! through: the downstream tasks of every task instance that finished are evaluated
//! (fast-follow: a chain's next task is queued in the entry that recorded the
//! previous one's success), runs that can finish do, queued runs start when
//! `max_active_runs` allows, and one queueing pass hands free capacity to
//! `scheduled` instances in priority order, exactly as the leader's periodic pass
//! would. The leader's own loop only adds what needs a clock: new runs from
//! schedules and [`crate::Command::Tick`]s when timers come due.
//!
//! Files from the bottom up: `sched` (the work list), `lookup` (reads), `counters`,
//! `write` (every task-instance write, with its indexes); then `attempt`,
//! `start`, `mapping`, `runs`, `readiness`, `finish`, `timers`, `queueing`,
//! `run_removal`, `xcom`, `gap`; `settle` on top; `due` and `explain` answer the
//! leader's and the API's questions.

pub(crate) mod assets;
pub(crate) mod attempt;
pub(crate) mod counters;
pub(crate) mod dag_callbacks;
pub(crate) mod due;
pub mod explain;
pub(crate) mod finish;
pub(crate) mod gap;
pub(crate) mod lookup;
pub(crate) mod mapping;
pub(crate) mod queueing;
pub(crate) mod readiness;
pub(crate) mod run_removal;
pub(crate) mod runs;
pub(crate) mod sched;
pub(crate) mod settle;
pub(crate) mod start;
pub(crate) mod timers;
pub(crate) mod write;
pub(crate) mod xcom;
