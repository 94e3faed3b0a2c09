//! Which scheduled runs are due: the leader's question each tick, answered from the
//! state and a time the leader passes in (apply never asks it). The answer is a list
//! of `CreateDagRun` commands; apply refuses any that another tick already made.

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::RunType;

use super::counters;
use crate::command::Command;
use crate::keys::Cf;
use crate::keys::index::{self, counter};
use crate::records::{DagRecord, RunningAttempt};
use crate::store::{Store, StoreError};
use crate::txn::Txn;

/// At most this many runs per DAG per tick: a long catchup is created in steps.
pub const MAX_RUNS_PER_DAG_PER_TICK: usize = 1000;

impl Store {
    /// The runs every unpaused DAG's schedule asks for at `now`: each interval whose
    /// `run_after` has passed, after the DAG's last automated run, while its queued
    /// and running runs stay under `max_active_runs` (as Airflow stops creating runs
    /// once that many are active). Each run is pinned to the DAG's newest version.
    pub fn due_runs(&self, now: DateTime<Utc>) -> Result<Vec<Command>, StoreError> {
        let txn = Txn::new(self);
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.scan::<DagRecord>(Cf::Dags, b"", after.as_deref(), 512)?;
            let Some((last_key, _)) = page.last() else {
                return Ok(out);
            };
            after = Some(last_key.clone());
            for (_, dag) in page {
                if dag.is_paused {
                    continue;
                }
                let Some(plan) = self.plan(&dag.dag_id, dag.latest_version)? else {
                    continue;
                };
                let model = plan.dag();
                if !model.schedule.can_be_scheduled() {
                    continue;
                }
                let restriction = model.restriction(plan.version.created_at);
                let active = counters::count(&txn, &counter::queued_runs(&dag.dag_id, ""))?
                    + counters::count(&txn, &counter::running_runs(&dag.dag_id, ""))?;
                let mut room = i64::from(model.max_active_runs) - active;
                let mut last = dag.last_automated;
                let mut made = 0;
                while room > 0 && made < MAX_RUNS_PER_DAG_PER_TICK {
                    let Some(info) = model.schedule.next_dagrun_info(
                        model.timezone,
                        last.as_ref(),
                        &restriction,
                        now,
                    ) else {
                        break;
                    };
                    // Not due yet, or a schedule that does not move forward.
                    if info.run_after > now
                        || last.is_some_and(|l| info.data_interval.start <= l.start)
                    {
                        break;
                    }
                    let logical = info.logical_date();
                    out.push(Command::CreateDagRun {
                        dag_id: dag.dag_id.clone(),
                        run_id: RunType::Scheduled.run_id(logical, None),
                        run_type: RunType::Scheduled,
                        version: Some(dag.latest_version),
                        logical_date: Some(logical),
                        data_interval_start: Some(info.data_interval.start),
                        data_interval_end: Some(info.data_interval.end),
                        run_after: Some(info.run_after),
                        conf: Default::default(),
                        triggered_by: "scheduler".to_string(),
                    });
                    last = Some(info.data_interval);
                    room -= 1;
                    made += 1;
                }
            }
        }
    }

    /// The time of the earliest timer, if any (the leader proposes a `Tick` then).
    pub fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .index_live_from(index::TIMERS)?
            .and_then(|key| index::timer_due(&key)))
    }

    /// Whether a queueing pass stopped at its budget and waits to be continued.
    pub fn queue_pass_pending(&self) -> Result<bool, StoreError> {
        Ok(self.get_raw(Cf::Index, index::QUEUE_CURSOR)?.is_some())
    }

    /// Queued task instances of a queue, highest priority first.
    pub fn queued(
        &self,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<crate::command::TaskInstanceKey>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.scan_index_hinted(&index::queued_prefix(queue), limit)?
            .into_iter()
            .map(|(_, v)| crate::store::decode(Cf::Index, &v))
            .collect()
    }

    /// Every attempt a worker holds (a new leader re-arms their leases from this).
    pub fn running_attempts(&self) -> Result<Vec<RunningAttempt>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page =
                self.scan::<RunningAttempt>(Cf::Index, index::RUNNING, after.as_deref(), 1024)?;
            let Some((last, _)) = page.last() else {
                return Ok(out);
            };
            after = Some(last.clone());
            out.extend(page.into_iter().map(|(_, a)| a));
        }
    }
}
