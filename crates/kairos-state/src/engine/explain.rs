//! "Why is this task not running?": the readiness checks, read-only, reporting every
//! reason that holds a task instance back instead of acting on it.

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_dag::trigger_rule::{Readiness, UpstreamCounts, evaluate};
use serde::{Deserialize, Serialize};

use super::counters;
use super::lookup::{is_paused, load_run, load_ti};
use super::queueing::blocked_by;
use super::readiness::{describe_upstream, past_holds_back, upstream_states};
use crate::command::TaskInstanceKey;
use crate::keys::index::{self, counter};
use crate::keys::{self, Cf};
use crate::records::{BackfillRecord, Candidate, Settings};
use crate::store::{Store, StoreError};
use crate::txn::Txn;

/// What holds a task instance back. `reasons` is empty when nothing does (it runs,
/// or has finished).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub ti: TaskInstanceKey,
    pub state: Option<S>,
    /// The queue it waits in, so the leader can add "no live worker serves it".
    pub queue: Option<String>,
    /// The execution environment it needs, if any, and its DAG's team, so the
    /// leader can add "no live worker has it" (set while it waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub reasons: Vec<String>,
}

impl Store {
    pub fn explain(&self, ti: &TaskInstanceKey) -> Result<Explanation, StoreError> {
        let txn = Txn::new(self);
        let mut out = Explanation {
            ti: ti.clone(),
            state: None,
            queue: None,
            environment: None,
            team: None,
            reasons: Vec::new(),
        };
        let Some(record) = load_ti(&txn, ti)? else {
            out.reasons
                .push("no such task instance: check the DAG, run and task ids".to_string());
            return Ok(out);
        };
        out.state = Some(record.state);
        out.queue = Some(record.queue.clone());
        let Some(run) = load_run(&txn, &ti.dag_id, &ti.run_id)? else {
            return Ok(out);
        };
        if matches!(record.state, S::Scheduled | S::Queued) {
            if let Some(plan) = txn.plan(&ti.dag_id, run.version)? {
                let dag = plan.dag();
                out.team = dag.team.clone();
                out.environment = plan
                    .index_of(&ti.task_id)
                    .and_then(|i| dag.environment_of(plan.task(i)))
                    .map(str::to_string);
            }
        }
        let settings: Settings = txn
            .get(Cf::Meta, crate::keys::meta::SETTINGS)?
            .unwrap_or_default();
        let r = &mut out.reasons;
        if is_paused(&txn, &ti.dag_id)? && !record.state.is_finished() {
            r.push(format!("DAG `{}` is paused: unpause it", ti.dag_id));
        }
        match record.state {
            s if s.is_finished() => return Ok(out),
            S::Running | S::Restarting => return Ok(out),
            S::Queued => {
                r.push(format!(
                    "queued in queue `{}`: waiting for a worker that serves it to ask for work",
                    record.queue
                ));
                return Ok(out);
            }
            S::Deferred => {
                r.push(record.reason.clone().unwrap_or_else(|| "deferred".into()));
                return Ok(out);
            }
            S::Scheduled => {
                let candidate: Option<Candidate> =
                    txn.get(Cf::Index, &index::scheduled(&record))?;
                if let Some(c) = candidate {
                    if let Some(blocked) = blocked_by(&txn, &c, settings.parallelism)? {
                        r.push(blocked.message().to_string());
                    } else {
                        r.push(
                            "ready and within every limit: the next queueing pass takes it".into(),
                        );
                    }
                }
                return Ok(out);
            }
            _ => {}
        }
        if run.state == DagRunState::Queued {
            let group = run.group().to_string();
            let running = counters::count(&txn, &counter::running_runs(&ti.dag_id, &group))?;
            let limit = if group.is_empty() {
                txn.get::<crate::records::DagRecord>(Cf::Dags, &crate::keys::dag(&ti.dag_id))?
                    .map(|d| txn.plan(&ti.dag_id, d.latest_version))
                    .transpose()?
                    .flatten()
                    .map(|p| p.dag().max_active_runs)
                    .unwrap_or_default()
            } else {
                txn.get::<BackfillRecord>(Cf::Backfills, &keys::backfill(&group))?
                    .map_or(0, |b| b.max_active_runs)
            };
            r.push(format!(
                "run `{}` is queued: {running} runs are running and max_active_runs is {limit}",
                run.run_id
            ));
            return Ok(out);
        }
        if let Some(at) = record.next_retry_at {
            if matches!(record.state, S::UpForRetry | S::UpForReschedule) {
                r.push(format!("{} until {}", record.state, at.to_rfc3339()));
            }
        }
        let Some(plan) = txn.plan(&ti.dag_id, run.version)? else {
            return Ok(out);
        };
        let Some(i) = plan.index_of(&ti.task_id) else {
            return Ok(out);
        };
        let upstream = upstream_states(&txn, &plan, &run, i)?;
        let counts = UpstreamCounts::from_states(upstream.iter().map(|(_, s)| *s));
        let rule = plan.task(i).trigger_rule;
        if evaluate(rule, counts, false) == Readiness::Wait {
            r.push(format!(
                "trigger rule `{rule}` is not met yet: {}",
                describe_upstream(&upstream)
            ));
        }
        if let Some(why) = past_holds_back(&txn, &plan, &run, i)? {
            r.push(why);
        }
        Ok(out)
    }
}
