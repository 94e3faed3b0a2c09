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
use kairos_dag::graph::DagGraph;
use kairos_dag::state::{
    Actor, DagRunState, TaskInstanceState, check_transition, run_state_from_tasks,
};
use kairos_dag::version::content_hash;

use crate::command::{
    Batch, Command, CommandResult, Outcome, Rejection, RejectionKind, TaskInstanceKey,
};
use crate::keys::{self, Cf, meta};
use crate::records::{
    DEFAULT_POOL, DagRecord, DagRunRecord, Settings, TaskInstanceRecord, VersionRecord, XComRecord,
};
use crate::store::{Store, StoreError};
use crate::txn::Txn;

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
                    let result = apply_command(&mut txn, &mut settings, &at, command);
                    match &result {
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => txn.rollback(savepoint),
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
        Ok(all)
    }
}

/// Where a command sits in the log: its time and its place, which together name
/// anything it creates uniquely and identically on every node.
struct At {
    stamp: DateTime<Utc>,
    index: u64,
    position: usize,
}

fn reject<T>(
    kind: RejectionKind,
    message: impl Into<String>,
) -> Result<Result<T, Rejection>, StoreError> {
    Ok(Err(Rejection::new(kind, message)))
}

/// Checks an id: not empty, no NUL (the key separator), at most 250 characters.
fn check_id(what: &str, id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        return Err(Rejection::new(
            RejectionKind::Invalid,
            format!("the {what} is empty; give it a name"),
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
    at: &At,
    command: &Command,
) -> Result<CommandResult, StoreError> {
    match command {
        Command::PutDagVersion { content, files } => {
            put_dag_version(txn, settings, at, content, files)
        }
        Command::SetPaused { dag_id, is_paused } => {
            let Some(mut dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
                return reject(
                    RejectionKind::NotFound,
                    format!("no DAG `{dag_id}`; push it first"),
                );
            };
            dag.is_paused = *is_paused;
            dag.updated_at = at.stamp;
            txn.put(Cf::Dags, keys::dag(dag_id), &dag);
            Ok(Ok(Outcome::Paused {
                dag_id: dag_id.clone(),
                is_paused: *is_paused,
            }))
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
        } => {
            check!(check_id("run id", run_id));
            let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
                return reject(
                    RejectionKind::NotFound,
                    format!("no DAG `{dag_id}`; push it first"),
                );
            };
            let version = version.unwrap_or(dag.latest_version);
            let Some(pinned) = txn.version_record(dag_id, version)? else {
                return reject(
                    RejectionKind::NotFound,
                    format!(
                        "DAG `{dag_id}` has no version {version}; its versions are 1 to {}",
                        dag.latest_version
                    ),
                );
            };
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
                run_after: run_after.unwrap_or(at.stamp),
                conf: conf.clone(),
                created_at: at.stamp,
                start_date: None,
                end_date: None,
                triggered_by: triggered_by.clone(),
            };
            txn.put(Cf::Runs, keys::run(dag_id, run_id), &run);
            let tasks = &pinned.content.dag.tasks;
            for task in tasks {
                let ti = TaskInstanceRecord {
                    dag_id: dag_id.clone(),
                    run_id: run_id.clone(),
                    task_id: task.task_id.clone(),
                    map_index: -1,
                    state: TaskInstanceState::None,
                    try_number: 0,
                    attempt: None,
                    start_date: None,
                    end_date: None,
                    updated_at: at.stamp,
                    reason: None,
                };
                txn.put(
                    Cf::TaskInstances,
                    keys::task_instance(dag_id, run_id, &task.task_id, -1),
                    &ti,
                );
            }
            Ok(Ok(Outcome::DagRun {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                version,
                task_instances: tasks.len(),
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
            at,
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
            check!(check_id("XCom key", key));
            let record = match current_attempt(txn, ti, Some(attempt))? {
                Ok(record) => record,
                Err(rejection) => return Ok(Err(rejection)),
            };
            if record.state != TaskInstanceState::Running {
                return reject(
                    RejectionKind::StaleAttempt,
                    format!(
                        "task instance {} is {}, not running: its attempt can no longer push XComs",
                        describe(ti),
                        record.state
                    ),
                );
            }
            let bytes = serde_json::to_vec(value)
                .map(|v| v.len() as u64)
                .unwrap_or(u64::MAX);
            if bytes > settings.xcom_max_bytes {
                return reject(
                    RejectionKind::TooLarge,
                    format!(
                        "XCom `{key}` of task instance {} is {bytes} bytes; the cluster accepts at most {} \
                         (setting xcom_max_bytes). Pass a reference (a path or URL) instead of the data, \
                         or raise the limit",
                        describe(ti),
                        settings.xcom_max_bytes
                    ),
                );
            }
            let xcom = XComRecord {
                dag_id: ti.dag_id.clone(),
                run_id: ti.run_id.clone(),
                task_id: ti.task_id.clone(),
                map_index: ti.map_index,
                key: key.clone(),
                value: value.clone(),
                timestamp: at.stamp,
            };
            txn.put(
                Cf::XComs,
                keys::xcom(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index, key),
                &xcom,
            );
            Ok(Ok(Outcome::XCom { bytes }))
        }
        Command::ClearTaskInstances {
            dag_id,
            run_id,
            task_ids,
        } => clear_task_instances(txn, at, dag_id, run_id, task_ids),
        Command::SetPool { pool } => {
            check!(check_id("pool name", &pool.name));
            txn.put(Cf::Pools, keys::pool(&pool.name), pool);
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
            *settings = new.clone();
            txn.put(Cf::Meta, meta::SETTINGS.to_vec(), new);
            Ok(Ok(Outcome::Done))
        }
    }
}

fn describe(ti: &TaskInstanceKey) -> String {
    if ti.map_index >= 0 {
        format!(
            "{}/{}/{}[{}]",
            ti.dag_id, ti.run_id, ti.task_id, ti.map_index
        )
    } else {
        format!("{}/{}/{}", ti.dag_id, ti.run_id, ti.task_id)
    }
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
        return reject(
            RejectionKind::NotFound,
            format!("no task instance {}", describe(ti)),
        );
    };
    if let Some(attempt) = attempt {
        if record.attempt.as_deref() != Some(attempt) {
            return reject(
                RejectionKind::StaleAttempt,
                format!(
                    "attempt {attempt} of task instance {} is not its current attempt ({}); \
                     the report is refused",
                    describe(ti),
                    record.attempt.as_deref().unwrap_or("none")
                ),
            );
        }
    }
    Ok(Ok(record))
}

fn set_task_state(
    txn: &mut Txn<'_>,
    at: &At,
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
                describe(ti)
            ),
        );
    }
    let mut record = match current_attempt(txn, ti, if needs_token { attempt } else { None })? {
        Ok(record) => record,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let run_key = keys::run(&ti.dag_id, &ti.run_id);
    let Some(mut run) = txn.get::<DagRunRecord>(Cf::Runs, &run_key)? else {
        return reject(
            RejectionKind::NotFound,
            format!("no run {}/{}", ti.dag_id, ti.run_id),
        );
    };
    if let Err(illegal) = check_transition(record.state, to, actor) {
        return reject(
            RejectionKind::IllegalTransition,
            format!("{}: {illegal}", describe(ti)),
        );
    }
    if to == TaskInstanceState::Running {
        record.try_number += 1;
        // Unique across the cluster's history and identical on every node.
        record.attempt = Some(format!(
            "{}-{}.{}",
            record.try_number, at.index, at.position
        ));
        record.start_date = Some(at.stamp);
        record.end_date = None;
        if run.start_date.is_none() {
            run.start_date = Some(at.stamp);
        }
        if run.state == DagRunState::Queued {
            run.state = DagRunState::Running;
        }
    }
    if to.is_finished() {
        record.end_date = Some(at.stamp);
    }
    record.state = to;
    record.updated_at = at.stamp;
    record.reason = reason.map(str::to_string);
    txn.put(
        Cf::TaskInstances,
        keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index),
        &record,
    );
    update_run_state(txn, at, &mut run, to)?;
    txn.put(Cf::Runs, run_key, &run);
    Ok(Ok(Outcome::TaskState {
        state: record.state,
        try_number: record.try_number,
        attempt: record.attempt,
        run_state: run.state,
    }))
}

/// Finishes the run when all its task instances have finished, and reopens a finished
/// run when one of them starts over.
fn update_run_state(
    txn: &Txn<'_>,
    at: &At,
    run: &mut DagRunRecord,
    to: TaskInstanceState,
) -> Result<(), StoreError> {
    // A move to an unfinished state cannot finish an unfinished run: skip the scan of
    // the run's task instances, which most transitions (scheduled, queued, running)
    // would otherwise pay on every apply.
    if !to.is_finished() && !run.state.is_finished() {
        return Ok(());
    }
    if !to.is_finished() {
        run.state = DagRunState::Queued;
        run.end_date = None;
        return Ok(());
    }
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> = txn.scan(
        Cf::TaskInstances,
        &keys::run_prefix(&run.dag_id, &run.run_id),
    )?;
    let all_finished = tis.iter().all(|(_, ti)| ti.state.is_finished());
    if !all_finished {
        if run.state.is_finished() {
            run.state = DagRunState::Queued;
            run.end_date = None;
        }
        return Ok(());
    }
    let leaves: BTreeSet<String> = match txn.version_record(&run.dag_id, run.version)? {
        Some(version) => match DagGraph::of(&version.content.dag) {
            Ok(graph) => graph
                .leaves()
                .into_iter()
                .map(|i| graph.id(i).to_string())
                .collect(),
            Err(_) => BTreeSet::new(),
        },
        None => BTreeSet::new(),
    };
    let state = run_state_from_tasks(
        tis.iter()
            .map(|(_, ti)| (ti.state, leaves.contains(&ti.task_id))),
        true,
    );
    if state != run.state {
        run.state = state;
        run.end_date = state.is_finished().then_some(at.stamp);
    }
    Ok(())
}

fn clear_task_instances(
    txn: &mut Txn<'_>,
    at: &At,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
) -> Result<CommandResult, StoreError> {
    let run_key = keys::run(dag_id, run_id);
    let Some(mut run) = txn.get::<DagRunRecord>(Cf::Runs, &run_key)? else {
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
    let mut cleared = 0;
    for (key, mut ti) in tis {
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
        ti.state = to;
        ti.updated_at = at.stamp;
        ti.end_date = None;
        ti.reason = Some("cleared".to_string());
        for (xcom_key, _) in txn.scan::<XComRecord>(
            Cf::XComs,
            &keys::xcom_prefix(dag_id, run_id, &ti.task_id, ti.map_index),
        )? {
            txn.delete(Cf::XComs, xcom_key);
        }
        txn.put(Cf::TaskInstances, key, &ti);
        cleared += 1;
    }
    if cleared > 0 && run.state.is_finished() {
        run.state = DagRunState::Queued;
        run.end_date = None;
        txn.put(Cf::Runs, run_key, &run);
    }
    Ok(Ok(Outcome::Cleared {
        task_instances: cleared,
    }))
}
