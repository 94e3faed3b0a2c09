//! Keys of the primary record families: DAGs, versions, runs, task instances,
//! XComs, pools and backfills. A DAG's versions sort by number, a run's task
//! instances by task id then map index.

use kairos_dag::identity::TaskInstanceKey;

use super::bytes::{join, map_index_bytes, prefix};

pub fn dag(dag_id: &str) -> Vec<u8> {
    dag_id.as_bytes().to_vec()
}

pub fn version(dag_id: &str, version: u32) -> Vec<u8> {
    join(&[dag_id.as_bytes(), &version.to_be_bytes()])
}

/// The prefix of every key of one DAG in the families keyed by DAG first.
pub fn dag_prefix(dag_id: &str) -> Vec<u8> {
    prefix(&[dag_id.as_bytes()])
}

pub fn run(dag_id: &str, run_id: &str) -> Vec<u8> {
    join(&[dag_id.as_bytes(), run_id.as_bytes()])
}

/// The prefix of the task instances and XComs of one run.
pub fn run_prefix(dag_id: &str, run_id: &str) -> Vec<u8> {
    prefix(&[dag_id.as_bytes(), run_id.as_bytes()])
}

pub fn task_instance(dag_id: &str, run_id: &str, task_id: &str, map_index: i32) -> Vec<u8> {
    join(&[
        dag_id.as_bytes(),
        run_id.as_bytes(),
        task_id.as_bytes(),
        &map_index_bytes(map_index),
    ])
}

/// [`task_instance`] of a key.
pub fn ti(ti: &TaskInstanceKey) -> Vec<u8> {
    task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index)
}

/// The prefix of every instance (the unmapped one and each mapped one) of a task
/// in a run.
pub fn task_prefix(dag_id: &str, run_id: &str, task_id: &str) -> Vec<u8> {
    prefix(&[dag_id.as_bytes(), run_id.as_bytes(), task_id.as_bytes()])
}

/// The prefix of the XComs of one task instance.
pub fn xcom_prefix(dag_id: &str, run_id: &str, task_id: &str, map_index: i32) -> Vec<u8> {
    let mut key = task_instance(dag_id, run_id, task_id, map_index);
    key.push(0);
    key
}

pub fn xcom(dag_id: &str, run_id: &str, task_id: &str, map_index: i32, key: &str) -> Vec<u8> {
    let mut out = xcom_prefix(dag_id, run_id, task_id, map_index);
    out.extend_from_slice(key.as_bytes());
    out
}

pub fn pool(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

pub fn backfill(backfill_id: &str) -> Vec<u8> {
    backfill_id.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_indexes_sort_numerically() {
        let keys: Vec<Vec<u8>> = [-1, 0, 1, 2, 255, 256, 70_000]
            .iter()
            .map(|&i| task_instance("d", "r", "t", i))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn versions_sort_numerically_and_stay_inside_their_dag() {
        let mut keys = vec![
            version("a", 10),
            version("a", 2),
            version("a", 1),
            version("ab", 1),
        ];
        keys.sort();
        assert_eq!(keys[0], version("a", 1));
        assert_eq!(keys[1], version("a", 2));
        assert_eq!(keys[2], version("a", 10));
        assert!(keys[..3].iter().all(|k| k.starts_with(&dag_prefix("a"))));
        assert!(!version("ab", 1).starts_with(&dag_prefix("a")));
    }
}

pub fn bundle(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

pub fn bundle_version(name: &str, version: u32) -> Vec<u8> {
    join(&[name.as_bytes(), &version.to_be_bytes()])
}

/// The prefix of every version of one bundle.
pub fn bundle_prefix(name: &str) -> Vec<u8> {
    prefix(&[name.as_bytes()])
}
