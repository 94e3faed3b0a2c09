//! The deterministic apply: log entries in, state and per-command results out.
//!
//! Apply reads no clock, draws no random numbers and touches nothing but its own
//! store: time is the entry's stamp, and the only other inputs are the entry's index
//! and the commands. The same log therefore gives the same bytes on every node.
//! The effects of a group of entries and their last-applied markers are written in
//! one `WriteBatch`, so a crash leaves the store after some whole entry, never
//! inside one.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState, check_transition};
use kairos_dag::version::content_hash;

use crate::command::{
    Batch, Command, CommandResult, Outcome, Rejection, RejectionKind, TaskInstanceKey,
};
use crate::engine::attempt::start_attempt;
use crate::engine::finish::{Report, finish};
use crate::engine::index;
use crate::engine::{At, Sched, backfill, queueing, run_edit, runs, settle, timers, write_ti};
use crate::keys::{self, Cf, meta};
use crate::records::{
    DEFAULT_POOL, DagRecord, DagRunRecord, Settings, TaskInstanceRecord, VersionRecord, XComRecord,
};
use crate::stats::ApplyStats;
use crate::store::{Store, StoreError};
use crate::txn::Txn;
use kairos_dag::lifecycle::RunType;
use kairos_dag::timetable::DataInterval;

/// One committed log entry, as the state machine sees it.
#[derive(Debug, Clone)]
pub struct EntryToApply<'a> {
    /// The entry's Raft index: it names the attempts this entry starts.
    pub index: u64,
    /// The commands, or `None` for Raft's own entries (blank, membership).
    pub batch: Option<&'a Batch>,
    /// The Raft glue's own records (last applied log id, membership), opaque here and
    /// written in the same batch under `raft/<name>` in the meta family.
    pub raft_meta: Vec<(String, Vec<u8>)>,
}

/// The longest id Kairos accepts (Airflow's `ID_LEN`).
const ID_MAX: usize = 250;

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
                    let result = apply_command(&mut txn, &mut settings, &mut sched, command)
                        .and_then(|r| {
                            if r.is_ok() {
                                settle(&mut txn, &mut sched)?;
                            }
                            Ok(r)
                        });
                    stats.commands += 1;
                    match &result {
                        Ok(Ok(_)) => stats.merge(std::mem::take(&mut sched.stats)),
                        Ok(Err(_)) => {
                            stats.refused += 1;
                            txn.rollback(savepoint);
                        }
                        Err(_) => {}
                    }
                    results.push(result?);
                }
            }
            txn.put(Cf::Meta, meta::APPLIED_INDEX.to_vec(), &entry.index);
            for (name, value) in &entry.raft_meta {
                let mut key = meta::RAFT_PREFIX.to_vec();
                key.extend_from_slice(name.as_bytes());
                txn.put_raw(Cf::Meta, key, value.clone());
            }
            all.push(results);
        }
        txn.commit()?;
        Ok((all, stats))
    }
}

fn reject<T>(
    kind: RejectionKind,
    message: impl Into<String>,
) -> Result<Result<T, Rejection>, StoreError> {
    Ok(Err(Rejection::new(kind, message)))
}

/// Checks an id: not empty, no NUL (the key separator), at most 250 characters.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} is empty; give it a name"),
        ));
    }
    if id.chars().all(|c| c == '.') {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} is only dots, which URLs read as path steps; add a letter"),
        ));
    }
    if id.contains('\0') {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} contains a NUL character; remove it"),
        ));
    }
    if id.chars().count() > ID_MAX {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} {id:?} is longer than {ID_MAX} characters; shorten it"),
        ));
    }
    Ok(())
}

macro_rules! check {
    ($e:expr) => {
        if let Err(rejection) = $e {
            return Ok(Err(rejection));
        }
    };
}

fn apply_command(
    txn: &mut Txn<'_>,
    settings: &mut Settings,
    sched: &mut Sched,
    command: &Command,
) -> Result<CommandResult, StoreError> {
    match command {
        Command::PutDagVersion { content, files } => {
            put_dag_version(txn, settings, &sched.at, content, files)
        }
        Command::SetPaused { dag_id, is_paused } => set_paused(txn, sched, dag_id, *is_paused),
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
        } => {
            check!(check_id("run id", run_id));
            let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
                return reject(
                    RejectionKind::NotFound,
                    format!("no DAG `{dag_id}`; push it first"),
                );
            };
            let version = version.unwrap_or(dag.latest_version);
            if txn.version_record(dag_id, version)?.is_none() {
                return reject(
                    RejectionKind::NotFound,
                    format!(
                        "DAG `{dag_id}` has no version {version}; its versions are 1 to {}",
                        dag.latest_version
                    ),
                );
            }
            if txn.get_raw(Cf::Runs, &keys::run(dag_id, run_id))?.is_some() {
                return reject(
                    RejectionKind::AlreadyExists,
                    format!("DAG `{dag_id}` already has a run `{run_id}`; choose another run id"),
                );
            }
            if let (Some(start), Some(end)) = (data_interval_start, data_interval_end) {
                if start > end {
                    return reject(
                        RejectionKind::Invalid,
                        format!(
                            "the data interval of run `{run_id}` starts ({start}) after it ends ({end})"
                        ),
                    );
                }
            }
            let run = DagRunRecord {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                run_type: *run_type,
                version,
                state: DagRunState::Queued,
                logical_date: *logical_date,
                data_interval_start: *data_interval_start,
                data_interval_end: *data_interval_end,
                run_after: run_after.unwrap_or(sched.stamp()),
                conf: conf.clone(),
                created_at: sched.stamp(),
                start_date: None,
                end_date: None,
                triggered_by: triggered_by.clone(),
                backfill_id: None,
            };
            let task_instances = runs::insert_run(txn, sched, &run)?;
            if *run_type == RunType::Scheduled {
                if let (Some(start), Some(end)) = (data_interval_start, data_interval_end) {
                    let mut dag = dag;
                    if dag.last_automated.is_none_or(|last| last.start < *start) {
                        dag.last_automated = Some(DataInterval {
                            start: *start,
                            end: *end,
                        });
                        txn.put(Cf::Dags, keys::dag(dag_id), &dag);
                    }
                }
            }
            Ok(Ok(Outcome::DagRun {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                version,
                task_instances,
            }))
        }
        Command::SetTaskState {
            ti,
            to,
            actor,
            attempt,
            reason,
        } => set_task_state(
            txn,
            sched,
            settings,
            ti,
            *to,
            *actor,
            attempt.as_deref(),
            reason.as_deref(),
        ),
        Command::PushXCom {
            ti,
            key,
            value,
            attempt,
        } => {
            let record = match current_attempt(txn, ti, Some(attempt))? {
                Ok(record) => record,
                Err(rejection) => return Ok(Err(rejection)),
            };
            if record.state != TaskInstanceState::Running {
                return reject(
                    RejectionKind::StaleAttempt,
                    format!(
                        "task instance {} is {}, not running: its attempt can no longer push XComs",
                        ti, record.state
                    ),
                );
            }
            let bytes = match put_xcom(txn, ti, key, value, settings.xcom_max_bytes, sched.stamp())
            {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(Err(rejection)),
            };
            Ok(Ok(Outcome::XCom { bytes }))
        }
        Command::ClearTaskInstances {
            dag_id,
            run_id,
            task_ids,
        } => clear_task_instances(txn, sched, dag_id, run_id, task_ids),
        Command::Dispatch {
            ti,
            worker,
            log_url,
        } => dispatch(txn, sched, ti, worker, log_url.as_deref()),
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
        } => {
            if !matches!(actor, Actor::Worker | Actor::LeaseExpiry) {
                return reject(
                    RejectionKind::Invalid,
                    "an attempt is finished by its worker or by lease expiry",
                );
            }
            let record = match current_attempt(txn, ti, Some(attempt))? {
                Ok(record) => record,
                Err(rejection) => return Ok(Err(rejection)),
            };
            if !matches!(
                record.state,
                TaskInstanceState::Running | TaskInstanceState::Restarting
            ) {
                // The same attempt reported again (a retry after a lost answer, a
                // failover): it is already recorded.
                return Ok(Ok(Outcome::AlreadyRecorded {
                    state: record.state,
                }));
            }
            let report = Report {
                actor: *actor,
                state: *state,
                reason: reason.as_deref(),
                xcoms,
                log_tail: log_tail.as_deref(),
                follow: follow.as_deref(),
                reschedule_at: *reschedule_at,
                xcom_max_bytes: settings.xcom_max_bytes,
            };
            finish(txn, sched, record, report)?;
            task_outcome(txn, sched, ti)
        }
        Command::Tick => {
            let fired = timers::fire_due(txn, sched)?;
            if txn.get_raw(Cf::Index, index::QUEUE_CURSOR)?.is_some() {
                queueing::pass(txn, sched, true)?;
            }
            Ok(Ok(Outcome::Ticked { timers: fired }))
        }
        Command::CreateBackfill {
            dag_id,
            from_date,
            to_date,
            reprocess_behavior,
            max_active_runs,
            conf,
            triggered_by,
        } => backfill::create(
            txn,
            sched,
            backfill::Request {
                dag_id,
                from_date: *from_date,
                to_date: *to_date,
                reprocess: *reprocess_behavior,
                max_active_runs: *max_active_runs,
                conf,
                triggered_by,
            },
        ),
        Command::SetDagRunState {
            dag_id,
            run_id,
            state,
        } => run_edit::mark_run(txn, sched, dag_id, run_id, *state),
        Command::DeleteDagRun { dag_id, run_id } => {
            run_edit::delete_run(txn, sched, dag_id, run_id)
        }
        Command::SetPool { pool } => {
            check!(check_id("pool name", &pool.name));
            txn.put(Cf::Pools, keys::pool(&pool.name), pool);
            Ok(Ok(Outcome::Done))
        }
        Command::SetVariable { variable } => {
            check!(check_id("variable key", &variable.key));
            txn.put(Cf::Meta, keys::variable(&variable.key), variable);
            Ok(Ok(Outcome::Done))
        }
        Command::DeleteVariable { key } => {
            if txn.get_raw(Cf::Meta, &keys::variable(key))?.is_none() {
                return reject(RejectionKind::NotFound, format!("no variable `{key}`"));
            }
            txn.delete(Cf::Meta, keys::variable(key));
            Ok(Ok(Outcome::Done))
        }
        Command::DeletePool { name } => {
            if name == DEFAULT_POOL {
                return reject(
                    RejectionKind::Invalid,
                    format!("`{DEFAULT_POOL}` cannot be deleted; set its slots instead"),
                );
            }
            if txn.get_raw(Cf::Pools, &keys::pool(name))?.is_none() {
                return reject(RejectionKind::NotFound, format!("no pool `{name}`"));
            }
            txn.delete(Cf::Pools, keys::pool(name));
            Ok(Ok(Outcome::Done))
        }
        Command::SetSettings { settings: new } => {
            if new.parallelism == 0 {
                return reject(
                    RejectionKind::Invalid,
                    "parallelism 0 would never run a task; give it at least 1",
                );
            }
            let raised = new.parallelism > settings.parallelism;
            *settings = new.clone();
            sched.parallelism = new.parallelism;
            if raised {
                sched.request_queue_pass();
            }
            txn.put(Cf::Meta, meta::SETTINGS.to_vec(), new);
            Ok(Ok(Outcome::Done))
        }
    }
}

/// Stores one XCom of a task instance after checking its key and its size (the
/// replicated `xcom_max_bytes`); returns its size in bytes.
pub(crate) fn put_xcom(
    txn: &mut Txn<'_>,
    ti: &TaskInstanceKey,
    key: &str,
    value: &serde_json::Value,
    max_bytes: u64,
    stamp: DateTime<Utc>,
) -> Result<u64, Rejection> {
    check_id("XCom key", key)?;
    let bytes = serde_json::to_vec(value).map_or(u64::MAX, |v| v.len() as u64);
    if bytes > max_bytes {
        return Err(Rejection::new(
            RejectionKind::TooLarge,
            format!(
                "XCom `{key}` of task instance {} is {bytes} bytes; the cluster accepts at most {max_bytes} \
                 (setting xcom_max_bytes). Pass a reference (a path or URL) instead of the data, \
                 or raise the limit",
                ti
            ),
        ));
    }
    let xcom = XComRecord {
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
        key: key.to_string(),
        value: value.clone(),
        timestamp: stamp,
    };
    txn.put(
        Cf::XComs,
        keys::xcom(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index, key),
        &xcom,
    );
    Ok(bytes)
}

fn put_dag_version(
    txn: &mut Txn<'_>,
    settings: &Settings,
    at: &At,
    content: &kairos_dag::version::VersionContent,
    files: &kairos_dag::version::FileContents,
) -> Result<CommandResult, StoreError> {
    let dag_id = &content.dag.dag_id;
    check!(check_id("DAG id", dag_id));
    check!(check_id("bundle name", &content.dag.bundle));
    for task in &content.dag.tasks {
        check!(check_id("task id", &task.task_id));
        check!(check_id("queue name", &task.queue));
        check!(check_id("pool name", &task.pool));
    }
    // Every referenced file must come with the push or already be in the cluster, and
    // every content sent must match its name.
    for (key, hash) in &content.files {
        match files.get(hash) {
            Some(text) => {
                let actual = content_hash(text.as_bytes());
                if &actual != hash {
                    return reject(
                        RejectionKind::Invalid,
                        format!(
                            "file `{key}` was sent as {hash} but its content hashes to {actual}"
                        ),
                    );
                }
            }
            None => {
                if txn.get_raw(Cf::Files, hash.as_bytes())?.is_none() {
                    return reject(
                        RejectionKind::Invalid,
                        format!(
                            "file `{key}` ({hash}) is neither in the push nor in the cluster; send its content"
                        ),
                    );
                }
            }
        }
    }
    let hash = content.content_hash();
    let existing = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))?;
    if let Some(dag) = &existing {
        if dag.bundle != content.dag.bundle {
            return reject(
                RejectionKind::Invalid,
                format!(
                    "DAG `{dag_id}` belongs to bundle `{}`; a push from bundle `{}` cannot replace it. \
                     Rename one of the DAGs, or push from bundle `{}`",
                    dag.bundle, content.dag.bundle, dag.bundle
                ),
            );
        }
        if dag.latest_hash == hash {
            return Ok(Ok(Outcome::DagVersion {
                dag_id: dag_id.clone(),
                version: dag.latest_version,
                hash,
                created: false,
            }));
        }
    }
    for hash in content.files.values() {
        if let Some(text) = files.get(hash) {
            txn.put_raw(
                Cf::Files,
                hash.as_bytes().to_vec(),
                text.as_bytes().to_vec(),
            );
        }
    }
    let version = existing.as_ref().map_or(1, |dag| dag.latest_version + 1);
    let record = DagRecord {
        dag_id: dag_id.clone(),
        bundle: content.dag.bundle.clone(),
        team: content.dag.team.clone(),
        tags: content.dag.tags.clone(),
        is_paused: match &existing {
            Some(dag) => dag.is_paused,
            None => content
                .dag
                .is_paused_upon_creation
                .unwrap_or(settings.dags_paused_at_creation),
        },
        latest_version: version,
        latest_hash: hash.clone(),
        created_at: existing.as_ref().map_or(at.stamp, |dag| dag.created_at),
        updated_at: at.stamp,
        last_automated: existing.as_ref().and_then(|dag| dag.last_automated),
    };
    txn.put(Cf::Dags, keys::dag(dag_id), &record);
    txn.put(
        Cf::Versions,
        keys::version(dag_id, version),
        &VersionRecord {
            dag_id: dag_id.clone(),
            version,
            hash: hash.clone(),
            created_at: at.stamp,
            content: content.clone(),
        },
    );
    Ok(Ok(Outcome::DagVersion {
        dag_id: dag_id.clone(),
        version,
        hash,
        created: true,
    }))
}

/// The task instance, if `attempt` is its current attempt's token (when one is asked for).
fn current_attempt(
    txn: &Txn<'_>,
    ti: &TaskInstanceKey,
    attempt: Option<&str>,
) -> Result<Result<TaskInstanceRecord, Rejection>, StoreError> {
    let key = keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index);
    let Some(record) = txn.get::<TaskInstanceRecord>(Cf::TaskInstances, &key)? else {
        return reject(RejectionKind::NotFound, format!("no task instance {}", ti));
    };
    if let Some(attempt) = attempt {
        if record.attempt.as_deref() != Some(attempt) {
            return reject(
                RejectionKind::StaleAttempt,
                format!(
                    "attempt {attempt} of task instance {} is not its current attempt ({}); \
                     the report is refused",
                    ti,
                    record.attempt.as_deref().unwrap_or("none")
                ),
            );
        }
    }
    Ok(Ok(record))
}

/// The outcome of a command about one task instance, after everything it implied.
fn task_outcome(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
) -> Result<CommandResult, StoreError> {
    settle(txn, sched)?;
    let Some(record) = crate::engine::load_ti(txn, ti)? else {
        return reject(RejectionKind::NotFound, format!("no task instance {}", ti));
    };
    let run_state = crate::engine::load_run(txn, &ti.dag_id, &ti.run_id)?
        .map_or(DagRunState::Failed, |r| r.state);
    Ok(Ok(Outcome::TaskState {
        state: record.state,
        try_number: record.try_number,
        attempt: record.attempt,
        run_state,
    }))
}

fn dispatch(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
    worker: &str,
    log_url: Option<&str>,
) -> Result<CommandResult, StoreError> {
    check!(check_id("worker id", worker));
    let Some(mut record) = crate::engine::load_ti(txn, ti)? else {
        return reject(RejectionKind::NotFound, format!("no task instance {}", ti));
    };
    if record.state != TaskInstanceState::Queued {
        return reject(
            RejectionKind::IllegalTransition,
            format!(
                "task instance {} is {}, not queued: it cannot be handed to a worker",
                ti, record.state
            ),
        );
    }
    record.log_url = log_url.filter(|u| !u.is_empty()).map(str::to_string);
    crate::engine::gap::record_dispatch_gap(txn, sched, ti)?;
    start_attempt(txn, sched, &mut record, Some(worker))?;
    task_outcome(txn, sched, ti)
}

#[allow(clippy::too_many_arguments)]
fn set_task_state(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    settings: &Settings,
    ti: &TaskInstanceKey,
    to: TaskInstanceState,
    actor: Actor,
    attempt: Option<&str>,
    reason: Option<&str>,
) -> Result<CommandResult, StoreError> {
    let needs_token = matches!(actor, Actor::Worker | Actor::LeaseExpiry);
    if needs_token && attempt.is_none() {
        return reject(
            RejectionKind::StaleAttempt,
            format!(
                "a report about task instance {} must carry its attempt's token",
                ti
            ),
        );
    }
    let mut record = match current_attempt(txn, ti, if needs_token { attempt } else { None })? {
        Ok(record) => record,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if crate::engine::load_run(txn, &ti.dag_id, &ti.run_id)?.is_none() {
        return reject(
            RejectionKind::NotFound,
            format!("no run {}/{}", ti.dag_id, ti.run_id),
        );
    }
    if let Err(illegal) = check_transition(record.state, to, actor) {
        return reject(
            RejectionKind::IllegalTransition,
            format!("{}: {illegal}", ti),
        );
    }
    if needs_token {
        let report = Report {
            actor,
            state: to,
            reason,
            xcoms: &[],
            log_tail: None,
            follow: None,
            reschedule_at: None,
            xcom_max_bytes: settings.xcom_max_bytes,
        };
        finish(txn, sched, record, report)?;
        return task_outcome(txn, sched, ti);
    }
    if to == TaskInstanceState::Running {
        start_attempt(txn, sched, &mut record, None)?;
        return task_outcome(txn, sched, ti);
    }
    let before = record.state;
    if to.is_finished() {
        record.end_date = Some(sched.stamp());
    }
    record.state = to;
    record.updated_at = sched.stamp();
    record.reason = reason.map(str::to_string);
    write_ti(txn, sched, before, &record)?;
    task_outcome(txn, sched, ti)
}

fn set_paused(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    is_paused: bool,
) -> Result<CommandResult, StoreError> {
    let Some(mut dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return reject(
            RejectionKind::NotFound,
            format!("no DAG `{dag_id}`; push it first"),
        );
    };
    let unpaused = dag.is_paused && !is_paused;
    dag.is_paused = is_paused;
    dag.updated_at = sched.stamp();
    txn.put(Cf::Dags, keys::dag(dag_id), &dag);
    if unpaused {
        // Nothing of a paused DAG was scheduled: look at its open runs again.
        sched.start_runs(dag_id, "");
        let open: Vec<(Vec<u8>, DagRunRecord)> = txn.scan(Cf::Runs, &keys::dag_prefix(dag_id))?;
        for (_, run) in open {
            match run.state {
                DagRunState::Queued => sched.start_runs(dag_id, run.group()),
                DagRunState::Running => {
                    if let Some(plan) = txn.plan(dag_id, run.version)? {
                        for i in 0..plan.len() {
                            sched.evaluate(&plan, dag_id, &run.run_id, i);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Ok(Outcome::Paused {
        dag_id: dag_id.to_string(),
        is_paused,
    }))
}

fn clear_task_instances(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
) -> Result<CommandResult, StoreError> {
    let Some(run) = crate::engine::load_run(txn, dag_id, run_id)? else {
        return reject(RejectionKind::NotFound, format!("no run {dag_id}/{run_id}"));
    };
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let wanted: BTreeSet<&str> = task_ids.iter().map(String::as_str).collect();
    let known: BTreeSet<&str> = tis.iter().map(|(_, ti)| ti.task_id.as_str()).collect();
    let unknown: Vec<&str> = wanted.difference(&known).copied().collect();
    if !unknown.is_empty() {
        return reject(
            RejectionKind::NotFound,
            format!("run {dag_id}/{run_id} has no task {}", unknown.join(", ")),
        );
    }
    let plan = txn.plan(dag_id, run.version)?;
    let mut cleared = 0;
    for (_, mut ti) in tis {
        if !wanted.is_empty() && !wanted.contains(ti.task_id.as_str()) {
            continue;
        }
        let to = if ti.state == TaskInstanceState::Running {
            TaskInstanceState::Restarting
        } else {
            TaskInstanceState::None
        };
        if ti.state == to || check_transition(ti.state, to, Actor::Clear).is_err() {
            continue;
        }
        let before = ti.state;
        ti.state = to;
        ti.updated_at = sched.stamp();
        ti.end_date = None;
        ti.next_retry_at = None;
        ti.cleared_tries = ti.try_number;
        ti.reason = Some("cleared".to_string());
        for (xcom_key, _) in txn.scan::<XComRecord>(
            Cf::XComs,
            &keys::xcom_prefix(dag_id, run_id, &ti.task_id, ti.map_index),
        )? {
            txn.delete(Cf::XComs, xcom_key);
        }
        write_ti(txn, sched, before, &ti)?;
        if let Some(plan) = &plan {
            if let Some(i) = plan.index_of(&ti.task_id) {
                sched.evaluate(plan, dag_id, run_id, i);
            }
        }
        cleared += 1;
    }
    Ok(Ok(Outcome::Cleared {
        task_instances: cleared,
    }))
}
