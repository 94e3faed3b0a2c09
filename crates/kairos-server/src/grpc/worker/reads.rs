//! What a running attempt reads from the cluster: XComs (`xcom_pull`), Variables
//! (`var.value`, opened when sealed), a run's state (sensors on other DAGs) and
//! the DAG's files. Any node answers, from what it has applied, and only for an
//! attempt the caller holds: XComs and files of that attempt's DAG only;
//! Variables of the DAG's team before cluster-wide ones; runs of DAGs of the
//! same team only.

use std::collections::HashSet;

use kairos_proto::v1::{
    FetchBundleReply, FetchBundleRequest, FetchFilesReply, FetchFilesRequest, GetVariableReply,
    GetVariableRequest, PullXComReply, PullXComRequest, RunStateReply, RunStateRequest,
};
use kairos_state::records::XComRecord;
use tonic::Status;

use super::caller::{held, same_team, team_of};
use super::convert::{key_of, parse_time};
use crate::node::{Node, NodeError};
use crate::secrets::VariableKey;

/// One XCom of a task instance; pulled without a map index from a mapped task, the
/// values of all its instances in map-index order (as Airflow's `xcom_pull`).
pub(super) fn pull_xcom(
    node: &Node,
    proven: &Option<String>,
    r: PullXComRequest,
) -> Result<PullXComReply, Status> {
    let by = held(node, proven, r.by)?;
    let ti = key_of(r.ti)?;
    if ti.dag_id != by.dag_id {
        return Err(Status::permission_denied(format!(
            "an attempt of DAG `{}` reads XComs of its own DAG only, not of `{}`",
            by.dag_id, ti.dag_id
        )));
    }
    let xcoms = node.read_now(|store| store.xcoms(&ti.dag_id, &ti.run_id, Some(&ti.task_id)))?;
    let found = xcoms
        .iter()
        .find(|x| x.key == r.key && x.map_index == ti.map_index);
    let mut mapped: Vec<&XComRecord> = xcoms
        .iter()
        .filter(|x| x.key == r.key && x.map_index >= 0)
        .collect();
    if found.is_none() && ti.map_index == -1 && !mapped.is_empty() {
        mapped.sort_by_key(|x| x.map_index);
        let values: Vec<&serde_json::Value> = mapped.iter().map(|x| &x.value).collect();
        let value_json = serde_json::to_string(&values).map_err(|e| {
            Status::from(NodeError::Internal(format!(
                "the mapped XComs cannot be encoded: {e}"
            )))
        })?;
        return Ok(PullXComReply {
            found: true,
            value_json,
        });
    }
    Ok(match found {
        Some(x) => PullXComReply {
            found: true,
            value_json: x.value.to_string(),
        },
        None => PullXComReply {
            found: false,
            value_json: String::new(),
        },
    })
}

/// A Variable's value, opened with this server's key when it is sealed.
pub(super) fn get_variable(
    node: &Node,
    proven: &Option<String>,
    key: Option<&VariableKey>,
    r: GetVariableRequest,
) -> Result<GetVariableReply, Status> {
    let by = held(node, proven, r.by)?;
    let name = r.key;
    let team = team_of(node, &by.dag_id)?;
    let variable = node.read_now(|store| store.variable_for(team.as_deref(), &name))?;
    Ok(match variable {
        Some(v) if v.encrypted => match key {
            Some(k) => GetVariableReply {
                found: true,
                value: k
                    .open(
                        &VariableKey::sealed_name(v.team.as_deref(), &name),
                        &v.value,
                    )
                    .map_err(Status::failed_precondition)?,
            },
            None => {
                return Err(Status::failed_precondition(format!(
                    "variable `{name}` is stored encrypted and this server has no variables_key_file to read it"
                )));
            }
        },
        Some(v) => GetVariableReply {
            found: true,
            value: v.value,
        },
        None => GetVariableReply {
            found: false,
            value: String::new(),
        },
    })
}

/// A run's state and its tasks' states, by run id or logical date.
pub(super) fn run_state(
    node: &Node,
    proven: &Option<String>,
    r: RunStateRequest,
) -> Result<RunStateReply, Status> {
    let by = held(node, proven, r.by.clone())?;
    if !same_team(node, &by.dag_id, &r.dag_id)? {
        return Ok(RunStateReply::default());
    }
    let at = if r.run_id.is_empty() {
        match parse_time("logical_date", &r.logical_date)? {
            Some(at) => Some(at),
            None => {
                return Err(Status::invalid_argument(
                    "name the run by run_id or logical_date",
                ));
            }
        }
    } else {
        None
    };
    let (dag_found, run, tis) = node.read_now(|store| {
        let dag_found = store.dag(&r.dag_id)?.is_some();
        let run = match at {
            None => store.run(&r.dag_id, &r.run_id)?,
            Some(at) => store.run_at(&r.dag_id, at)?,
        };
        let tis = match &run {
            Some(run) => store.task_instances(&r.dag_id, &run.run_id)?,
            None => Vec::new(),
        };
        Ok((dag_found, run, tis))
    })?;
    let mut reply = RunStateReply {
        dag_found,
        ..RunStateReply::default()
    };
    let Some(run) = run else {
        return Ok(reply);
    };
    reply.run_found = true;
    reply.state = run.state.as_str().to_string();
    let wanted: HashSet<&str> = r.task_ids.iter().map(String::as_str).collect();
    for ti in tis {
        if ti.map_index == -1 && (wanted.is_empty() || wanted.contains(ti.task_id.as_str())) {
            reply
                .task_states
                .insert(ti.task_id.clone(), ti.state.as_str().to_string());
        }
    }
    reply.run_id = run.run_id;
    Ok(reply)
}

/// The contents of files by hash (those this node has), each a file of the
/// version the caller's attempt runs.
pub(super) fn fetch_files(
    node: &Node,
    proven: &Option<String>,
    r: FetchFilesRequest,
) -> Result<FetchFilesReply, Status> {
    let by = held(node, proven, r.by)?;
    let version_files = node.read_now(|store| {
        let Some(run) = store.run(&by.dag_id, &by.run_id)? else {
            return Ok(HashSet::new());
        };
        let Some(version) = store.version_record(&by.dag_id, run.version)? else {
            return Ok(HashSet::new());
        };
        let mut files: HashSet<String> = version.content.files.values().cloned().collect();
        // And the files of the bundle version the run runs.
        if let Some(bundle_version) = run.bundle_version {
            if let Some(bundle) =
                store.bundle_version(&version.content.dag.bundle, bundle_version)?
            {
                files.extend(bundle.content.files.into_values());
            }
        }
        Ok(files)
    })?;
    if let Some(other) = r.hashes.iter().find(|h| !version_files.contains(*h)) {
        return Err(Status::permission_denied(format!(
            "file {other} is not a file of the version (or bundle version) task instance {by} runs"
        )));
    }
    let mut files = std::collections::HashMap::new();
    for hash in r.hashes {
        if let Some(text) = node.read_now(|store| store.file(&hash))? {
            files.insert(hash, text);
        }
    }
    Ok(FetchFilesReply { files })
}

/// The file list of the bundle version the caller's attempt runs.
pub(super) fn fetch_bundle(
    node: &Node,
    proven: &Option<String>,
    r: FetchBundleRequest,
) -> Result<FetchBundleReply, Status> {
    let by = held(node, proven, r.by)?;
    let found = node.read_now(|store| {
        let Some(run) = store.run(&by.dag_id, &by.run_id)? else {
            return Ok(None);
        };
        let (Some(bundle_version), Some(dag)) = (run.bundle_version, store.dag(&by.dag_id)?) else {
            return Ok(None);
        };
        store.bundle_version(&dag.bundle, bundle_version)
    })?;
    let Some(record) = found else {
        return Err(Status::not_found(format!(
            "the run of task instance {by} runs no bundle version"
        )));
    };
    let c = record.content;
    Ok(FetchBundleReply {
        bundle: c.name,
        version: record.version,
        files: c.files.into_iter().collect(),
        binary: c.binary.into_iter().collect(),
        requirements: c.requirements.unwrap_or_default(),
        wheels: c.wheels.unwrap_or_default(),
        environment: c.environment.unwrap_or_default(),
    })
}
