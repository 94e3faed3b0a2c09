//! Run and task-instance states, run types and run ids, named exactly as Airflow 3
//! names them, and the legal task-instance transitions as one checked function.
//!
//! The state machine (kairos-state) applies every transition through
//! [`check_transition`], so an illegal move (a success reported for a task that was
//! cleared, a retry of a finished task) is refused in one place, on every node alike.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state of a DAG run (Airflow's `DagRunState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DagRunState {
    Queued,
    Running,
    Success,
    Failed,
}

impl DagRunState {
    pub fn is_finished(self) -> bool {
        matches!(self, DagRunState::Success | DagRunState::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DagRunState::Queued => "queued",
            DagRunState::Running => "running",
            DagRunState::Success => "success",
            DagRunState::Failed => "failed",
        }
    }
}

/// Why a run exists (Airflow's `DagRunType`); also the prefix of its run id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunType {
    Scheduled,
    Manual,
    Backfill,
    AssetTriggered,
}

impl RunType {
    pub fn as_str(self) -> &'static str {
        match self {
            RunType::Scheduled => "scheduled",
            RunType::Manual => "manual",
            RunType::Backfill => "backfill",
            RunType::AssetTriggered => "asset_triggered",
        }
    }

    /// `<type>__<iso timestamp>`, e.g. `scheduled__2025-01-01T00:00:00+00:00`, as Airflow
    /// writes it. Airflow 3 appends a random suffix to manual and asset-triggered runs that
    /// have no logical date; Kairos takes the suffix from the caller (the leader derives it
    /// from the log position), because the state machine may not use randomness.
    pub fn run_id(self, at: DateTime<Utc>, suffix: Option<&str>) -> String {
        let ts = python_isoformat(at);
        match suffix {
            Some(s) => format!("{}__{ts}_{s}", self.as_str()),
            None => format!("{}__{ts}", self.as_str()),
        }
    }

    /// The run type a run id was made for (Airflow's `DagRunType.from_run_id`; unknown
    /// prefixes are manual runs, as in Airflow).
    pub fn from_run_id(run_id: &str) -> RunType {
        [
            RunType::Scheduled,
            RunType::Backfill,
            RunType::AssetTriggered,
            RunType::Manual,
        ]
        .into_iter()
        .find(|t| {
            run_id
                .strip_prefix(t.as_str())
                .is_some_and(|rest| rest.starts_with("__"))
        })
        .unwrap_or(RunType::Manual)
    }
}

/// A UTC time as Python's `datetime.isoformat()` writes it: `2025-01-01T00:00:00+00:00`,
/// with `.ffffff` only when there are microseconds.
pub fn python_isoformat(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// The state of one task instance, as Airflow 3 names them. `None` is Airflow's
/// "no status" (a task instance that exists but has not been looked at yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskInstanceState {
    None,
    Scheduled,
    Queued,
    Running,
    Success,
    Failed,
    UpForRetry,
    UpForReschedule,
    UpstreamFailed,
    Skipped,
    Removed,
    Deferred,
    Restarting,
}

impl TaskInstanceState {
    pub const ALL: [TaskInstanceState; 13] = [
        TaskInstanceState::None,
        TaskInstanceState::Scheduled,
        TaskInstanceState::Queued,
        TaskInstanceState::Running,
        TaskInstanceState::Success,
        TaskInstanceState::Failed,
        TaskInstanceState::UpForRetry,
        TaskInstanceState::UpForReschedule,
        TaskInstanceState::UpstreamFailed,
        TaskInstanceState::Skipped,
        TaskInstanceState::Removed,
        TaskInstanceState::Deferred,
        TaskInstanceState::Restarting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskInstanceState::None => "none",
            TaskInstanceState::Scheduled => "scheduled",
            TaskInstanceState::Queued => "queued",
            TaskInstanceState::Running => "running",
            TaskInstanceState::Success => "success",
            TaskInstanceState::Failed => "failed",
            TaskInstanceState::UpForRetry => "up_for_retry",
            TaskInstanceState::UpForReschedule => "up_for_reschedule",
            TaskInstanceState::UpstreamFailed => "upstream_failed",
            TaskInstanceState::Skipped => "skipped",
            TaskInstanceState::Removed => "removed",
            TaskInstanceState::Deferred => "deferred",
            TaskInstanceState::Restarting => "restarting",
        }
    }

    pub fn parse(text: &str) -> Option<TaskInstanceState> {
        TaskInstanceState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Airflow's `State.finished`: success, failed, skipped, upstream_failed, removed.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskInstanceState::Success
                | TaskInstanceState::Failed
                | TaskInstanceState::Skipped
                | TaskInstanceState::UpstreamFailed
                | TaskInstanceState::Removed
        )
    }

    /// Airflow's `State.failed_states`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TaskInstanceState::Failed | TaskInstanceState::UpstreamFailed
        )
    }

    /// Airflow's `State.success_states`.
    pub fn is_success_like(self) -> bool {
        matches!(
            self,
            TaskInstanceState::Success | TaskInstanceState::Skipped
        )
    }

    /// States in which a worker holds (or is about to hold) the attempt.
    pub fn is_executing(self) -> bool {
        matches!(
            self,
            TaskInstanceState::Queued | TaskInstanceState::Running | TaskInstanceState::Restarting
        )
    }
}

impl fmt::Display for TaskInstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DagRunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asks for a transition. The same move can be legal for one and not another:
/// only a worker reports a running attempt's outcome, only a user marks or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The scheduling loop or fast-follow in apply: readiness, queueing, dispatch,
    /// trigger-rule propagation, server-side waits.
    Scheduler,
    /// A worker's report about the attempt it runs (carries the attempt's token).
    Worker,
    /// The leader found an attempt whose lease ran out (worker gone or silent).
    LeaseExpiry,
    /// The run ended around the task: dagrun_timeout, or the run marked failed/success.
    RunEnd,
    /// A user marking a task instance success / failed / skipped.
    Mark,
    /// A user clearing a task instance so that it runs again.
    Clear,
}

/// A refused transition, with enough to say what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a task instance cannot go from `{from}` to `{to}` by {actor:?}")]
pub struct IllegalTransition {
    pub from: TaskInstanceState,
    pub to: TaskInstanceState,
    pub actor: Actor,
}

/// Checks one task-instance transition. A move to the same state is refused: callers
/// that want idempotence treat it as a no-op before asking.
pub fn check_transition(
    from: TaskInstanceState,
    to: TaskInstanceState,
    actor: Actor,
) -> Result<(), IllegalTransition> {
    use TaskInstanceState as S;
    let legal = from != to
        && match actor {
            Actor::Scheduler => match from {
                // Readiness, trigger-rule propagation, the EmptyOperator shortcut (Airflow
                // marks it success without running it), server-side waits, and a task
                // that cannot start at all (an expansion over something that is not a
                // list, a sensor target that is not a date).
                S::None | S::Scheduled => matches!(
                    to,
                    S::None
                        | S::Scheduled
                        | S::Queued
                        | S::Skipped
                        | S::UpstreamFailed
                        | S::Removed
                        | S::Success
                        | S::Failed
                        | S::Deferred
                ),
                // Dispatch to a worker, or back to scheduled when it cannot be handed out.
                S::Queued => matches!(to, S::Running | S::Scheduled),
                S::UpForRetry | S::UpForReschedule => matches!(
                    to,
                    S::Scheduled | S::Queued | S::Skipped | S::UpstreamFailed
                ),
                // Server-side waits end: resume on a worker, or finish on the server.
                S::Deferred => matches!(
                    to,
                    S::Scheduled | S::Queued | S::Success | S::Failed | S::Skipped | S::UpForRetry
                ),
                // A task that reappears in a new version of the DAG.
                S::Removed => to == S::None,
                _ => false,
            },
            Actor::Worker => match from {
                S::Running => matches!(
                    to,
                    S::Success
                        | S::Failed
                        | S::UpForRetry
                        | S::UpForReschedule
                        | S::Deferred
                        | S::Skipped
                ),
                // Cleared while running: whatever the attempt reports, it runs again.
                S::Restarting => matches!(to, S::UpForRetry | S::Failed),
                _ => false,
            },
            Actor::LeaseExpiry => {
                matches!(from, S::Running | S::Restarting)
                    && matches!(to, S::UpForRetry | S::Failed)
            }
            Actor::RunEnd => {
                !from.is_finished() && matches!(to, S::Skipped | S::Failed | S::Success)
            }
            Actor::Mark => matches!(to, S::Success | S::Failed | S::Skipped),
            // A running attempt is stopped first (restarting); everything else starts over.
            Actor::Clear => match from {
                S::Running => to == S::Restarting,
                _ => to == S::None,
            },
        };
    if legal {
        Ok(())
    } else {
        Err(IllegalTransition { from, to, actor })
    }
}

/// The state of a run, derived from its task instances as Airflow's `DagRun.update_state`
/// does. `leaf` marks tasks with no downstream; removed task instances are ignored.
/// `can_progress` is false when unfinished task instances exist but none of them can ever
/// become ready (a deadlock, e.g. a `depends_on_past` that will never hold).
pub fn run_state_from_tasks<I>(task_instances: I, can_progress: bool) -> DagRunState
where
    I: IntoIterator<Item = (TaskInstanceState, bool)>,
{
    let mut any_unfinished = false;
    let mut any_failed_leaf = false;
    for (state, leaf) in task_instances {
        if state == TaskInstanceState::Removed {
            continue;
        }
        any_unfinished |= !state.is_finished();
        any_failed_leaf |= leaf && state.is_failure();
    }
    // Every finished state is either success-like or a failure, so once nothing is
    // unfinished, "no failed leaf" is "all leaves succeeded".
    match (any_unfinished, can_progress, any_failed_leaf) {
        (true, true, _) => DagRunState::Running,
        (true, false, _) => DagRunState::Failed,
        (false, _, true) => DagRunState::Failed,
        (false, _, false) => DagRunState::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskInstanceState as S;
    use chrono::TimeZone;

    #[test]
    fn run_ids_look_like_airflows() {
        let at = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            RunType::Scheduled.run_id(at, None),
            "scheduled__2025-01-01T00:00:00+00:00"
        );
        assert_eq!(
            RunType::Manual.run_id(at, Some("ab12cd34")),
            "manual__2025-01-01T00:00:00+00:00_ab12cd34"
        );
        let with_micros = at + chrono::TimeDelta::microseconds(1500);
        assert_eq!(
            RunType::Backfill.run_id(with_micros, None),
            "backfill__2025-01-01T00:00:00.001500+00:00"
        );
        assert_eq!(
            RunType::from_run_id("asset_triggered__x"),
            RunType::AssetTriggered
        );
        assert_eq!(RunType::from_run_id("scheduled__x"), RunType::Scheduled);
        assert_eq!(RunType::from_run_id("my_custom_id"), RunType::Manual);
        assert_eq!(RunType::from_run_id("scheduledX"), RunType::Manual);
    }

    #[test]
    fn state_names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).expect("serializes");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(S::parse("shutdown"), None);
    }

    #[test]
    fn happy_path_and_retry_path_are_legal() {
        let path = [
            (S::None, S::Scheduled, Actor::Scheduler),
            (S::Scheduled, S::Queued, Actor::Scheduler),
            (S::Queued, S::Running, Actor::Scheduler),
            (S::Running, S::UpForRetry, Actor::Worker),
            (S::UpForRetry, S::Scheduled, Actor::Scheduler),
            (S::Scheduled, S::Queued, Actor::Scheduler),
            (S::Queued, S::Running, Actor::Scheduler),
            (S::Running, S::Success, Actor::Worker),
        ];
        for (from, to, actor) in path {
            assert_eq!(check_transition(from, to, actor), Ok(()), "{from} -> {to}");
        }
    }

    #[test]
    fn illegal_moves_are_refused() {
        let refused = [
            // A worker cannot report on an attempt that is not running.
            (S::Queued, S::Success, Actor::Worker),
            (S::Success, S::Failed, Actor::Worker),
            // The scheduler never rewrites a finished task.
            (S::Success, S::Scheduled, Actor::Scheduler),
            (S::Failed, S::UpForRetry, Actor::Scheduler),
            // A lease only expires on a running attempt.
            (S::Queued, S::Failed, Actor::LeaseExpiry),
            (S::Success, S::Failed, Actor::LeaseExpiry),
            // Clearing a running task restarts it, it does not reset it.
            (S::Running, S::None, Actor::Clear),
            // Marks only set terminal outcomes.
            (S::Success, S::Running, Actor::Mark),
            // The run ending does not touch finished tasks.
            (S::Success, S::Skipped, Actor::RunEnd),
            // Same state is never a transition.
            (S::Running, S::Running, Actor::Worker),
        ];
        for (from, to, actor) in refused {
            let err = check_transition(from, to, actor).expect_err("refused");
            assert_eq!((err.from, err.to, err.actor), (from, to, actor));
        }
    }

    #[test]
    fn clear_and_mark_reach_everything() {
        for from in S::ALL {
            let want = if from == S::Running {
                S::Restarting
            } else {
                S::None
            };
            if from != want {
                assert_eq!(check_transition(from, want, Actor::Clear), Ok(()), "{from}");
            }
            for to in [S::Success, S::Failed, S::Skipped] {
                if from != to {
                    assert_eq!(check_transition(from, to, Actor::Mark), Ok(()), "{from}");
                }
            }
        }
    }

    #[test]
    fn run_state_follows_the_leaves() {
        // All leaves succeeded (a skipped leaf counts as success).
        assert_eq!(
            run_state_from_tasks(
                [(S::Success, false), (S::Skipped, true), (S::Success, true)],
                true
            ),
            DagRunState::Success
        );
        // A failed leaf fails the run once everything is finished.
        assert_eq!(
            run_state_from_tasks(
                [(S::Success, false), (S::Failed, true), (S::Success, true)],
                true
            ),
            DagRunState::Failed
        );
        assert_eq!(
            run_state_from_tasks([(S::UpstreamFailed, true)], true),
            DagRunState::Failed
        );
        // A failed non-leaf does not fail the run when its leaf (all_done) succeeded.
        assert_eq!(
            run_state_from_tasks([(S::Failed, false), (S::Success, true)], true),
            DagRunState::Success
        );
        // Still running while anything is unfinished, even with a failed leaf.
        assert_eq!(
            run_state_from_tasks([(S::Failed, true), (S::Running, true)], true),
            DagRunState::Running
        );
        // Deadlock: unfinished work that can never run.
        assert_eq!(
            run_state_from_tasks([(S::Success, false), (S::None, true)], false),
            DagRunState::Failed
        );
        // Removed task instances do not count.
        assert_eq!(
            run_state_from_tasks([(S::Success, true), (S::Removed, true)], true),
            DagRunState::Success
        );
    }
}
