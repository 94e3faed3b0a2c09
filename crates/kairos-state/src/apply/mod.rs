//! The deterministic apply: log entries in, state and per-command results out.
//!
//! Apply reads no clock, draws no random numbers and touches nothing but its own
//! store: time is the entry's stamp, and the only other inputs are the entry's index
//! and the commands. The same log therefore gives the same bytes on every node.
//! The effects of a group of entries and their last-applied markers are written in
//! one `WriteBatch`, so a crash leaves the store after some whole entry, never
//! inside one.
//!
//! This file is the loop and the dispatch. Each command is handled in the file of
//! the resource it changes (`dags`, `runs`, `retention`, `task_instances`,
//! `xcoms`, `backfills`, `pools`, `variables`, `settings`, `ticks`): what the command
//! checks, refuses and writes. What follows from a change (readiness, queueing,
//! run lifecycle, timers) is `crate::engine`, settled once per accepted command.

mod assets;
mod backfills;
mod bundles;
pub mod cluster_id;
mod connections;
mod dag_callbacks;
mod dag_deletion;
mod dags;
mod leaders;
mod outcome;
mod pools;
mod retention;
mod runs;
mod settings;
mod task_instances;
mod ticks;
mod variables;
mod xcoms;

use chrono::{DateTime, Utc};

use crate::command::{Batch, Command, CommandResult};
use crate::engine::sched::{At, Sched};
use crate::engine::settle::settle;
use crate::keys::{Cf, meta};
use crate::records::Settings;
use crate::stats::ApplyStats;
use crate::store::{Store, StoreError};
use crate::txn::Txn;
use outcome::{ApplyError, Handled};

/// One committed log entry, as the state machine sees it.
#[derive(Debug, Clone)]
pub struct EntryToApply<'a> {
    /// The entry's Raft index: it names the attempts this entry starts.
    pub index: u64,
    /// The commands, or `None` for Raft's own entries (blank, membership).
    pub batch: Option<&'a Batch>,
    /// The Raft glue's own records (last applied log id, membership), opaque here and
    /// written in the same batch in the meta family, under `keys::meta::raft(name)`.
    pub raft_meta: Vec<(String, Vec<u8>)>,
}

impl Store {
    /// Applies entries in order and returns each entry's command results. The whole
    /// group is written atomically.
    pub fn apply(
        &self,
        entries: &[EntryToApply<'_>],
    ) -> Result<Vec<Vec<CommandResult>>, StoreError> {
        self.apply_counted(entries).map(|(results, _)| results)
    }

    /// [`Store::apply`], with what the entries did counted for metrics.
    pub fn apply_counted(
        &self,
        entries: &[EntryToApply<'_>],
    ) -> Result<(Vec<Vec<CommandResult>>, ApplyStats), StoreError> {
        let mut stats = ApplyStats::default();
        let mut txn = Txn::new(self);
        let mut settings: Settings = txn.get(Cf::Meta, meta::SETTINGS)?.unwrap_or_default();
        let mut last_stamp: Option<DateTime<Utc>> = txn.get(Cf::Meta, meta::LAST_STAMP)?;
        let mut all = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut results = Vec::new();
            if let Some(batch) = entry.batch {
                // A new leader's clock may be behind the old one's: time never goes back.
                let stamp = match last_stamp {
                    Some(last) if last > batch.stamp => last,
                    _ => batch.stamp,
                };
                last_stamp = Some(stamp);
                txn.put(Cf::Meta, meta::LAST_STAMP.to_vec(), &stamp);
                for (position, command) in batch.commands.iter().enumerate() {
                    let at = At {
                        stamp,
                        index: entry.index,
                        position,
                    };
                    let savepoint = txn.savepoint();
                    let mut sched = Sched::new(at, settings.parallelism);
                    let result = apply_one(&mut txn, &mut settings, &mut sched, command)?;
                    stats.commands += 1;
                    match &result {
                        Ok(_) => stats.merge(std::mem::take(&mut sched.stats)),
                        Err(_) => {
                            stats.refused += 1;
                            txn.rollback(savepoint);
                        }
                    }
                    results.push(result);
                }
            }
            txn.put(Cf::Meta, meta::APPLIED_INDEX.to_vec(), &entry.index);
            for (name, value) in &entry.raft_meta {
                txn.put_raw(Cf::Meta, meta::raft(name), value.clone());
            }
            all.push(results);
        }
        txn.commit()?;
        Ok((all, stats))
    }
}

/// One command: its handler, then (if accepted) everything it implies, settled
/// once, then its outcome. A refusal is a result; a store error stops the entry.
fn apply_one(
    txn: &mut Txn<'_>,
    settings: &mut Settings,
    sched: &mut Sched,
    command: &Command,
) -> Result<CommandResult, StoreError> {
    let reply = match dispatch(txn, settings, sched, command) {
        Ok(reply) => reply,
        Err(ApplyError::Refused(rejection)) => return Ok(Err(rejection)),
        Err(ApplyError::Store(error)) => return Err(error),
    };
    settle(txn, sched)?;
    outcome::resolve(txn, reply)
}

/// Hands a command to the handler of the resource it changes.
fn dispatch(
    txn: &mut Txn<'_>,
    settings: &mut Settings,
    sched: &mut Sched,
    command: &Command,
) -> Handled {
    match command {
        Command::PutDagVersion { content, files } => {
            dags::put_version(txn, settings, sched, content, files, None)
        }
        Command::PutFiles { contents } => bundles::put_files(txn, contents),
        Command::PutBundleVersion { bundle, dags } => {
            bundles::put_bundle_version(txn, settings, sched, bundle, dags)
        }
        Command::SetPaused { dag_id, is_paused } => {
            dags::set_paused(txn, sched, dag_id, *is_paused)
        }
        Command::CreateDagRun {
            dag_id,
            run_id,
            run_type,
            version,
            logical_date,
            data_interval_start,
            data_interval_end,
            run_after,
            conf,
            triggered_by,
        } => runs::create(
            txn,
            sched,
            runs::NewRun {
                dag_id,
                run_id,
                run_type: *run_type,
                version: *version,
                logical_date: *logical_date,
                data_interval_start: *data_interval_start,
                data_interval_end: *data_interval_end,
                run_after: *run_after,
                conf,
                triggered_by,
            },
        ),
        Command::SetDagRunState {
            dag_id,
            run_id,
            state,
        } => runs::mark(txn, sched, dag_id, run_id, *state),
        Command::DeleteDagRun { dag_id, run_id } => runs::delete(txn, sched, dag_id, run_id),
        Command::DeleteDag {
            dag_id,
            limit,
            unless_running,
        } => dag_deletion::delete(txn, sched, dag_id, *limit, *unless_running),
        Command::PurgeRuns {
            dag_id,
            before,
            keep_last,
            limit,
            from_dag,
        } => retention::purge(
            txn,
            sched,
            retention::Purge {
                dag_id: dag_id.as_deref(),
                before: *before,
                keep_last: *keep_last,
                limit: *limit,
                from_dag: from_dag.as_deref(),
            },
        ),
        Command::SetTaskState {
            ti,
            to,
            actor,
            attempt,
            reason,
        } => task_instances::set_state(
            txn,
            sched,
            settings,
            task_instances::StateChange {
                ti,
                to: *to,
                actor: *actor,
                attempt: attempt.as_deref(),
                reason: reason.as_deref(),
            },
        ),
        Command::ClearTaskInstances {
            dag_id,
            run_id,
            task_ids,
        } => task_instances::clear(txn, sched, dag_id, run_id, task_ids),
        Command::Dispatch {
            ti,
            worker,
            log_url,
            token,
        } => task_instances::dispatch(txn, sched, ti, worker, log_url.as_deref(), token.as_deref()),
        Command::DispatchDownstream {
            after,
            worker,
            log_url,
            tokens,
            fit,
        } => task_instances::dispatch_downstream(
            txn,
            sched,
            after,
            task_instances::Taker {
                worker,
                log_url: log_url.as_deref(),
                tokens,
                fit,
            },
        ),
        Command::Take {
            worker,
            log_url,
            tokens,
            fit,
            after,
            queued,
        } => task_instances::take(
            txn,
            sched,
            task_instances::Taker {
                worker,
                log_url: log_url.as_deref(),
                tokens,
                fit,
            },
            after,
            queued,
        ),
        Command::TakeQueued {
            worker,
            log_url,
            tokens,
            fit,
        } => task_instances::take_queued(
            txn,
            sched,
            task_instances::Taker {
                worker,
                log_url: log_url.as_deref(),
                tokens,
                fit,
            },
        ),
        Command::FinishAttempt {
            ti,
            attempt,
            actor,
            state,
            reason,
            xcoms,
            log_tail,
            follow,
            reschedule_at,
            no_retry,
            outlet_events,
        } => task_instances::finish_attempt(
            txn,
            sched,
            ti,
            attempt,
            crate::engine::finish::Report {
                actor: *actor,
                state: *state,
                reason: reason.as_deref(),
                xcoms,
                log_tail: log_tail.as_deref(),
                follow: follow.as_deref(),
                reschedule_at: *reschedule_at,
                no_retry: *no_retry,
                xcom_max_bytes: settings.xcom_max_bytes,
                outlet_events,
            },
        ),
        Command::PushXCom {
            ti,
            key,
            value,
            attempt,
        } => xcoms::push(txn, sched, settings, ti, key, value, attempt),
        Command::Tick => ticks::tick(txn, sched),
        Command::CreateBackfill {
            dag_id,
            from_date,
            to_date,
            reprocess_behavior,
            max_active_runs,
            conf,
            triggered_by,
        } => backfills::create(
            txn,
            sched,
            backfills::Request {
                dag_id,
                from_date: *from_date,
                to_date: *to_date,
                reprocess: *reprocess_behavior,
                max_active_runs: *max_active_runs,
                conf,
                triggered_by,
            },
        ),
        Command::SetPool { pool } => pools::set(txn, pool),
        Command::DeletePool { name } => pools::delete(txn, name),
        Command::SetVariable { variable } => variables::set(txn, variable),
        Command::DeleteVariable { key, team } => variables::delete(txn, key, team.as_deref()),
        Command::SetConnection { connection } => connections::set(txn, connection),
        Command::DeleteConnection { conn_id, team } => {
            connections::delete(txn, conn_id, team.as_deref())
        }
        Command::SetSettings { settings: new } => settings::set(txn, settings, sched, new),
        Command::SetClusterId { cluster_id } => cluster_id::set(txn, cluster_id),
        Command::RecordLeader { term, node_id } => leaders::record(txn, sched, *term, *node_id),
        Command::CreateAssetEvent { uri, extra } => assets::create_event(txn, sched, uri, extra),
        Command::TakeDagCallback {
            dag_id,
            run_id,
            worker,
            token,
        } => dag_callbacks::take(txn, sched, dag_id, run_id, worker, token),
        Command::FinishDagCallback {
            dag_id,
            run_id,
            token,
            success,
            log_tail,
        } => dag_callbacks::finish(txn, sched, dag_id, run_id, token, *success, log_tail),
    }
}
