//! Trigger rules as a pure function of the upstream states.
//!
//! This follows Airflow's `TriggerRuleDep` with `flag_upstream_failed` on, which is
//! how its scheduler evaluates readiness: first decide whether the task must be
//! skipped or marked upstream_failed, then whether it may run now. Only the direct
//! upstream tasks' finished states count; unfinished upstreams are "not done".

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lifecycle::TaskInstanceState;

/// When a task may run relative to its direct upstream tasks (Airflow 3's `TriggerRule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    AllSuccess,
    AllFailed,
    AllDone,
    AllDoneMinOneSuccess,
    AllSkipped,
    OneSuccess,
    OneFailed,
    OneDone,
    NoneFailed,
    NoneFailedMinOneSuccess,
    NoneSkipped,
    Always,
}

impl TriggerRule {
    pub const ALL: [TriggerRule; 12] = [
        TriggerRule::AllSuccess,
        TriggerRule::AllFailed,
        TriggerRule::AllDone,
        TriggerRule::AllDoneMinOneSuccess,
        TriggerRule::AllSkipped,
        TriggerRule::OneSuccess,
        TriggerRule::OneFailed,
        TriggerRule::OneDone,
        TriggerRule::NoneFailed,
        TriggerRule::NoneFailedMinOneSuccess,
        TriggerRule::NoneSkipped,
        TriggerRule::Always,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerRule::AllSuccess => "all_success",
            TriggerRule::AllFailed => "all_failed",
            TriggerRule::AllDone => "all_done",
            TriggerRule::AllDoneMinOneSuccess => "all_done_min_one_success",
            TriggerRule::AllSkipped => "all_skipped",
            TriggerRule::OneSuccess => "one_success",
            TriggerRule::OneFailed => "one_failed",
            TriggerRule::OneDone => "one_done",
            TriggerRule::NoneFailed => "none_failed",
            TriggerRule::NoneFailedMinOneSuccess => "none_failed_min_one_success",
            TriggerRule::NoneSkipped => "none_skipped",
            TriggerRule::Always => "always",
        }
    }

    /// Parses a rule name, including Airflow 2's old aliases: `dummy` is `always` and
    /// `none_failed_or_skipped` is `none_failed_min_one_success` (Airflow 2 rewrote them
    /// the same way; Airflow 3 rejects them, Kairos keeps old files working).
    pub fn parse(text: &str) -> Option<TriggerRule> {
        match text {
            "dummy" => Some(TriggerRule::Always),
            "none_failed_or_skipped" => Some(TriggerRule::NoneFailedMinOneSuccess),
            _ => TriggerRule::ALL.into_iter().find(|r| r.as_str() == text),
        }
    }
}

impl fmt::Display for TriggerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts of a task instance's direct upstream task instances, by finished state.
/// `total` is how many upstream task instances there are in all (finished or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpstreamCounts {
    pub total: u32,
    pub success: u32,
    pub skipped: u32,
    pub failed: u32,
    pub upstream_failed: u32,
    pub removed: u32,
}

impl UpstreamCounts {
    /// Counts the given upstream states (one per upstream task instance).
    pub fn from_states<I: IntoIterator<Item = TaskInstanceState>>(states: I) -> UpstreamCounts {
        let mut c = UpstreamCounts::default();
        for s in states {
            c.total += 1;
            match s {
                TaskInstanceState::Success => c.success += 1,
                TaskInstanceState::Skipped => c.skipped += 1,
                TaskInstanceState::Failed => c.failed += 1,
                TaskInstanceState::UpstreamFailed => c.upstream_failed += 1,
                TaskInstanceState::Removed => c.removed += 1,
                _ => {}
            }
        }
        c
    }

    /// Upstream task instances in a finished state.
    pub fn done(&self) -> u32 {
        self.success + self.skipped + self.failed + self.upstream_failed + self.removed
    }

    pub fn all_done(&self) -> bool {
        self.done() >= self.total
    }
}

/// What the trigger rule says about a task instance right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// It may run.
    Ready,
    /// Not yet: some upstream must finish (or finish differently) first.
    Wait,
    /// It will never run; mark it skipped.
    Skip,
    /// It will never run because upstream failed; mark it upstream_failed.
    UpstreamFailed,
}

/// Evaluates `rule` for a task instance. `mapped` is true for an expanded instance of a
/// mapped task (map_index >= 0), for which removed upstream instances are forgiven, as
/// Airflow does.
pub fn evaluate(rule: TriggerRule, c: UpstreamCounts, mapped: bool) -> Readiness {
    use TriggerRule as R;
    if c.total == 0 || rule == R::Always {
        return Readiness::Ready;
    }
    let done = c.all_done();
    let forgiven = if mapped { c.removed } else { 0 };

    // 1. Decide skip / upstream_failed (Airflow's flag_upstream_failed branch).
    let verdict = match rule {
        R::AllSuccess if c.upstream_failed > 0 || c.failed > 0 => Some(Readiness::UpstreamFailed),
        R::AllSuccess if c.skipped > 0 => Some(Readiness::Skip),
        R::AllFailed if c.success > 0 || c.skipped > 0 => Some(Readiness::Skip),
        R::OneSuccess if done && c.done() == c.skipped => Some(Readiness::Skip),
        R::OneSuccess if done && c.success == 0 => Some(Readiness::UpstreamFailed),
        R::OneFailed if done && c.failed == 0 && c.upstream_failed == 0 => Some(Readiness::Skip),
        R::OneDone if done && c.failed == 0 && c.success == 0 => Some(Readiness::Skip),
        R::NoneFailed | R::NoneFailedMinOneSuccess if c.upstream_failed > 0 || c.failed > 0 => {
            Some(Readiness::UpstreamFailed)
        }
        R::NoneFailedMinOneSuccess if c.skipped == c.total => Some(Readiness::Skip),
        R::NoneSkipped if c.skipped > 0 => Some(Readiness::Skip),
        R::AllSkipped if c.success > 0 || c.failed > 0 || c.upstream_failed > 0 => {
            Some(Readiness::Skip)
        }
        // Documented as "all upstream done and at least one succeeded": when everything is
        // done without a success, skip if everything was skipped, else upstream_failed.
        R::AllDoneMinOneSuccess if done && c.success == 0 && c.done() == c.skipped => {
            Some(Readiness::Skip)
        }
        R::AllDoneMinOneSuccess if done && c.success == 0 => Some(Readiness::UpstreamFailed),
        _ => None,
    };
    if let Some(v) = verdict {
        return v;
    }

    // 2. Decide whether the rule is met now (Airflow's "met" checks).
    let met = match rule {
        R::AllSuccess => c.total.saturating_sub(c.success + forgiven) == 0,
        R::AllFailed => {
            c.total
                .saturating_sub(c.failed + c.upstream_failed + forgiven)
                == 0
        }
        R::AllDone => done,
        R::AllDoneMinOneSuccess => done && c.success > 0,
        R::AllSkipped => c.total.saturating_sub(c.skipped) == 0,
        R::OneSuccess => c.success > 0,
        R::OneFailed => c.failed > 0 || c.upstream_failed > 0,
        R::OneDone => c.success + c.failed > 0,
        R::NoneFailed | R::NoneFailedMinOneSuccess => {
            c.total.saturating_sub(c.success + c.skipped + forgiven) == 0
        }
        R::NoneSkipped => done && c.skipped == 0,
        R::Always => true,
    };
    if met {
        Readiness::Ready
    } else {
        Readiness::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Readiness::{Ready, Skip, UpstreamFailed as UF, Wait};
    use TaskInstanceState as S;

    fn eval(rule: &str, upstream: &[S]) -> Readiness {
        let rule = TriggerRule::parse(rule).expect("known rule");
        evaluate(
            rule,
            UpstreamCounts::from_states(upstream.iter().copied()),
            false,
        )
    }

    /// Each row: rule, upstream states, expected verdict. Taken case by case from Airflow's
    /// trigger-rule documentation and `trigger_rule_dep.py`.
    #[test]
    fn every_rule_case_by_case() {
        let cases: &[(&str, &[S], Readiness)] = &[
            // all_success (default): waits, runs when all succeeded, skip / upstream_failed propagate.
            ("all_success", &[S::Success, S::Running], Wait),
            ("all_success", &[S::Success, S::Success], Ready),
            ("all_success", &[S::Success, S::Skipped], Skip),
            ("all_success", &[S::Skipped, S::Running], Skip),
            ("all_success", &[S::Failed, S::Running], UF),
            ("all_success", &[S::UpstreamFailed, S::Success], UF),
            ("all_success", &[S::Failed, S::Skipped], UF),
            // all_failed
            ("all_failed", &[S::Failed, S::UpstreamFailed], Ready),
            ("all_failed", &[S::Failed, S::Running], Wait),
            ("all_failed", &[S::Failed, S::Success], Skip),
            ("all_failed", &[S::Skipped, S::Failed], Skip),
            // all_done: any finished state, including skipped.
            ("all_done", &[S::Failed, S::Skipped, S::Success], Ready),
            ("all_done", &[S::Failed, S::Running], Wait),
            ("all_done", &[S::UpstreamFailed, S::Removed], Ready),
            // all_done_min_one_success
            ("all_done_min_one_success", &[S::Failed, S::Success], Ready),
            ("all_done_min_one_success", &[S::Success, S::Skipped], Ready),
            ("all_done_min_one_success", &[S::Success, S::Running], Wait),
            ("all_done_min_one_success", &[S::Failed, S::Skipped], UF),
            ("all_done_min_one_success", &[S::Skipped, S::Skipped], Skip),
            // all_skipped
            ("all_skipped", &[S::Skipped, S::Skipped], Ready),
            ("all_skipped", &[S::Skipped, S::Running], Wait),
            ("all_skipped", &[S::Skipped, S::Success], Skip),
            ("all_skipped", &[S::UpstreamFailed], Skip),
            // one_success: fires at the first success, without waiting.
            ("one_success", &[S::Success, S::Running], Ready),
            ("one_success", &[S::Failed, S::Running], Wait),
            ("one_success", &[S::Failed, S::Skipped], UF),
            ("one_success", &[S::Skipped, S::Skipped], Skip),
            // one_failed
            ("one_failed", &[S::Failed, S::Running], Ready),
            ("one_failed", &[S::UpstreamFailed, S::Running], Ready),
            ("one_failed", &[S::Success, S::Running], Wait),
            ("one_failed", &[S::Success, S::Skipped], Skip),
            // one_done: success or failed counts, skipped / upstream_failed do not.
            ("one_done", &[S::Success, S::Running], Ready),
            ("one_done", &[S::Failed, S::Running], Ready),
            ("one_done", &[S::Skipped, S::Running], Wait),
            ("one_done", &[S::Skipped, S::UpstreamFailed], Skip),
            // none_failed: success or skipped.
            ("none_failed", &[S::Success, S::Skipped], Ready),
            ("none_failed", &[S::Skipped, S::Skipped], Ready),
            ("none_failed", &[S::Success, S::Running], Wait),
            ("none_failed", &[S::Success, S::Failed], UF),
            ("none_failed", &[S::UpstreamFailed, S::Running], UF),
            // none_failed_min_one_success: the join after a branch.
            (
                "none_failed_min_one_success",
                &[S::Success, S::Skipped],
                Ready,
            ),
            (
                "none_failed_min_one_success",
                &[S::Skipped, S::Skipped],
                Skip,
            ),
            (
                "none_failed_min_one_success",
                &[S::Skipped, S::Running],
                Wait,
            ),
            ("none_failed_min_one_success", &[S::Failed, S::Skipped], UF),
            // none_skipped
            ("none_skipped", &[S::Success, S::Failed], Ready),
            ("none_skipped", &[S::Success, S::Running], Wait),
            ("none_skipped", &[S::Success, S::Skipped], Skip),
            // always, and its old alias dummy: regardless of upstream.
            ("always", &[S::Running, S::None], Ready),
            ("dummy", &[S::Failed], Ready),
            ("none_failed_or_skipped", &[S::Skipped, S::Skipped], Skip),
        ];
        for (rule, upstream, want) in cases {
            assert_eq!(eval(rule, upstream), *want, "{rule} with {upstream:?}");
        }
    }

    #[test]
    fn no_upstream_is_always_ready() {
        for rule in TriggerRule::ALL {
            assert_eq!(
                evaluate(rule, UpstreamCounts::default(), false),
                Ready,
                "{rule}"
            );
        }
    }

    #[test]
    fn removed_upstream_is_forgiven_only_for_mapped_instances() {
        let c = UpstreamCounts::from_states([S::Success, S::Removed]);
        assert_eq!(evaluate(TriggerRule::AllSuccess, c, false), Wait);
        assert_eq!(evaluate(TriggerRule::AllSuccess, c, true), Ready);
        assert_eq!(evaluate(TriggerRule::NoneFailed, c, true), Ready);
    }

    #[test]
    fn names_round_trip_and_unknowns_are_refused() {
        for rule in TriggerRule::ALL {
            assert_eq!(TriggerRule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(TriggerRule::parse("all_sucess"), None);
    }
}
