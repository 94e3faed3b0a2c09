//! Commands about bundles: file contents stored ahead of a bundle version, and a
//! bundle version with the DAG versions of its DAG files, made in one step so
//! that a run never sees half a push.

use std::collections::BTreeMap;

use kairos_dag::bundle_content::{BundleContent, is_hash};
use kairos_dag::version::{FileContents, VersionContent, content_hash};

use super::dags::put_version;
use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, PushedDagVersion, RejectionKind};
use crate::engine::sched::Sched;
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::{BundleRecord, BundleVersionRecord, Settings};
use crate::txn::Txn;

/// Stores each content under its hash, after checking that it is its hash.
pub(super) fn put_files(txn: &mut Txn<'_>, contents: &FileContents) -> Handled {
    let mut new = 0;
    for (hash, text) in contents {
        let actual = content_hash(text.as_bytes());
        if !is_hash(hash) || &actual != hash {
            return Err(refused(
                RejectionKind::Invalid,
                format!("a file was sent as {hash:?} but its content hashes to {actual}"),
            ));
        }
        if txn.get_raw(Cf::Files, hash.as_bytes())?.is_none() {
            txn.put_raw(
                Cf::Files,
                hash.as_bytes().to_vec(),
                text.as_bytes().to_vec(),
            );
            new += 1;
        }
    }
    Ok(Reply::from(Outcome::Files { new }))
}

/// A bundle version, when its content differs from the newest one, and a DAG
/// version for each DAG file that changed; every DAG of the push records the
/// bundle version, so its next run runs this code.
pub(super) fn put_bundle_version(
    txn: &mut Txn<'_>,
    settings: &Settings,
    sched: &Sched,
    bundle: &BundleContent,
    dags: &[VersionContent],
) -> Handled {
    let name = &bundle.name;
    check_id("bundle name", name)?;
    if let Some(team) = &bundle.team {
        check_id("team name", team)?;
    }
    if let Some(environment) = &bundle.environment {
        check_id("environment name", environment)?;
    }
    if let Some(problem) = bundle.problem() {
        let kind = if bundle.files.len() > kairos_dag::limits::MAX_BUNDLE_FILES {
            RejectionKind::TooLarge
        } else {
            RejectionKind::Invalid
        };
        return Err(refused(kind, problem));
    }
    for (path, hash) in &bundle.files {
        if txn.get_raw(Cf::Files, hash.as_bytes())?.is_none() {
            return Err(refused(
                RejectionKind::Invalid,
                format!(
                    "file `{path}` ({hash}) of bundle `{name}` is not in the cluster; send its content first"
                ),
            ));
        }
    }
    for dag in dags {
        if &dag.dag.bundle != name || dag.dag.team != bundle.team {
            return Err(refused(
                RejectionKind::Invalid,
                format!(
                    "DAG `{}` says bundle `{}` of team {:?}, but it is pushed in bundle `{name}` of team {:?}",
                    dag.dag.dag_id, dag.dag.bundle, dag.dag.team, bundle.team
                ),
            ));
        }
    }
    let existing = txn.get::<BundleRecord>(Cf::Bundles, &keys::bundle(name))?;
    if let Some(record) = &existing {
        if record.team != bundle.team {
            return Err(refused(
                RejectionKind::Invalid,
                format!(
                    "bundle `{name}` belongs to {}; a push for {} cannot replace it. \
                     Push it as its owner, or choose another bundle name",
                    team_name(&record.team),
                    team_name(&bundle.team)
                ),
            ));
        }
    }
    let hash = bundle.content_hash();
    let unchanged = existing.as_ref().filter(|b| b.latest_hash == hash);
    let (version, created) = match unchanged {
        Some(record) => (record.latest_version, false),
        None => (existing.as_ref().map_or(1, |b| b.latest_version + 1), true),
    };
    let no_files = FileContents::new();
    let mut pushed = Vec::with_capacity(dags.len());
    let mut made = BTreeMap::new();
    for dag in dags {
        let reply = put_version(txn, settings, sched, dag, &no_files, Some(version))?;
        if let Reply::Now(Outcome::DagVersion {
            dag_id,
            version: dag_version,
            created,
            ..
        }) = reply
        {
            made.insert(dag_id.clone(), dag_version);
            pushed.push(PushedDagVersion {
                dag_id,
                version: dag_version,
                created,
            });
        }
    }
    if created {
        txn.put(
            Cf::Bundles,
            keys::bundle(name),
            &BundleRecord {
                name: name.clone(),
                team: bundle.team.clone(),
                environment: bundle.environment.clone(),
                latest_version: version,
                latest_hash: hash.clone(),
                created_at: existing.as_ref().map_or(sched.stamp(), |b| b.created_at),
                updated_at: sched.stamp(),
            },
        );
        txn.put(
            Cf::BundleVersions,
            keys::bundle_version(name, version),
            &BundleVersionRecord {
                version,
                hash: hash.clone(),
                created_at: sched.stamp(),
                content: bundle.clone(),
                dags: made,
            },
        );
    }
    Ok(Reply::from(Outcome::BundleVersion {
        bundle: name.clone(),
        version,
        hash,
        created,
        dags: pushed,
    }))
}

fn team_name(team: &Option<String>) -> String {
    match team {
        Some(team) => format!("team `{team}`"),
        None => "no team".to_string(),
    }
}
