//! Conversions between the protocol's messages and the model's types they carry,
//! beside the messages so that no side writes them by hand.

use kairos_dag::identity::TaskInstanceKey;

use crate::v1::TaskInstanceId;

impl From<&TaskInstanceKey> for TaskInstanceId {
    fn from(ti: &TaskInstanceKey) -> TaskInstanceId {
        TaskInstanceId {
            dag_id: ti.dag_id.clone(),
            run_id: ti.run_id.clone(),
            task_id: ti.task_id.clone(),
            map_index: ti.map_index,
        }
    }
}

impl From<TaskInstanceId> for TaskInstanceKey {
    fn from(id: TaskInstanceId) -> TaskInstanceKey {
        TaskInstanceKey {
            dag_id: id.dag_id,
            run_id: id.run_id,
            task_id: id.task_id,
            map_index: id.map_index,
        }
    }
}

impl From<&TaskInstanceId> for TaskInstanceKey {
    fn from(id: &TaskInstanceId) -> TaskInstanceKey {
        TaskInstanceKey::from(id.clone())
    }
}
