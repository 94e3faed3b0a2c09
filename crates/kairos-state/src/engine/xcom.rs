//! One XCom stored, after checking its key and its size against the replicated
//! `xcom_max_bytes`: for a worker's push while it runs and for the XComs of its
//! final report.

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;

use crate::command::{Rejection, RejectionKind};
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::XComRecord;
use crate::txn::Txn;

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
