//! Commands about DAGs: a pushed version, and pausing.

use kairos_dag::lifecycle::DagRunState;
use kairos_dag::version::{FileContents, VersionContent, content_hash};

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::sched::Sched;
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::{DagRecord, DagRunRecord, Settings, VersionRecord};
use crate::txn::Txn;

/// A DAG's content: a new version when it differs from the latest one.
pub(super) fn put_version(
    txn: &mut Txn<'_>,
    settings: &Settings,
    sched: &Sched,
    content: &VersionContent,
    files: &FileContents,
    bundle_version: Option<u32>,
) -> Handled {
    let dag_id = &content.dag.dag_id;
    check_id("DAG id", dag_id)?;
    check_id("bundle name", &content.dag.bundle)?;
    for task in &content.dag.tasks {
        check_id("task id", &task.task_id)?;
        check_id("queue name", &task.queue)?;
        check_id("pool name", &task.pool)?;
    }
    // Every referenced file must come with the push or already be in the cluster, and
    // every content sent must match its name.
    for (key, hash) in &content.files {
        match files.get(hash) {
            Some(text) => {
                let actual = content_hash(text.as_bytes());
                if &actual != hash {
                    return Err(refused(
                        RejectionKind::Invalid,
                        format!(
                            "file `{key}` was sent as {hash} but its content hashes to {actual}"
                        ),
                    ));
                }
            }
            None => {
                if txn.get_raw(Cf::Files, hash.as_bytes())?.is_none() {
                    return Err(refused(
                        RejectionKind::Invalid,
                        format!(
                            "file `{key}` ({hash}) is neither in the push nor in the cluster; send its content"
                        ),
                    ));
                }
            }
        }
    }
    let hash = content.content_hash();
    let existing = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))?;
    if let Some(dag) = &existing {
        if dag.bundle != content.dag.bundle {
            return Err(refused(
                RejectionKind::Invalid,
                format!(
                    "DAG `{dag_id}` belongs to bundle `{}`; a push from bundle `{}` cannot replace it. \
                     Rename one of the DAGs, or push from bundle `{}`",
                    dag.bundle, content.dag.bundle, dag.bundle
                ),
            ));
        }
        if dag.latest_hash == hash {
            if bundle_version.is_some() && dag.bundle_version != bundle_version {
                // The DAG file did not change but its bundle did: new runs run the
                // new code.
                let mut dag = dag.clone();
                dag.bundle_version = bundle_version;
                dag.updated_at = sched.stamp();
                txn.put(Cf::Dags, keys::dag(dag_id), &dag);
            }
            return Ok(Reply::from(Outcome::DagVersion {
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
    let before = match &existing {
        Some(dag) => txn.version_record(dag_id, dag.latest_version)?,
        None => None,
    };
    crate::engine::assets::version_changed(
        txn,
        sched,
        before.as_ref().map(|v| &v.content.dag),
        &content.dag,
    )?;
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
        created_at: existing
            .as_ref()
            .map_or(sched.stamp(), |dag| dag.created_at),
        updated_at: sched.stamp(),
        last_automated: existing.as_ref().and_then(|dag| dag.last_automated),
        bundle_version,
    };
    txn.put(Cf::Dags, keys::dag(dag_id), &record);
    txn.put(
        Cf::Versions,
        keys::version(dag_id, version),
        &VersionRecord {
            dag_id: dag_id.clone(),
            version,
            hash: hash.clone(),
            created_at: sched.stamp(),
            content: content.clone(),
            bundle_version,
        },
    );
    Ok(Reply::from(Outcome::DagVersion {
        dag_id: dag_id.clone(),
        version,
        hash,
        created: true,
    }))
}

/// Pauses or unpauses a DAG; unpausing looks at its open runs again.
pub(super) fn set_paused(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    is_paused: bool,
) -> Handled {
    let Some(mut dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no DAG `{dag_id}`; push it first"),
        ));
    };
    let unpaused = dag.is_paused && !is_paused;
    dag.is_paused = is_paused;
    dag.updated_at = sched.stamp();
    txn.put(Cf::Dags, keys::dag(dag_id), &dag);
    if unpaused {
        // Asset events queued while it was paused may now trigger a run.
        crate::engine::assets::trigger_if_met(txn, sched, dag_id)?;
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
    Ok(Reply::from(Outcome::Paused {
        dag_id: dag_id.to_string(),
        is_paused,
    }))
}
