//! The REST API's wire types: the JSON shapes the server answers with and the
//! bodies it accepts, named as Airflow's stable REST API names them where the
//! same thing exists (`dag_run_id`, `logical_date`, `is_paused`, ...). The server
//! (`kairos-server::api`) and its clients (`kairos-client`) compile against these
//! same types, so they cannot drift apart. Each derives utoipa's `ToSchema`, from
//! which the server's OpenAPI document is generated.
//!
//! Plain data only: no dependency on the state machine (so a client does not pull
//! in RocksDB), no conversions from its records (those are the server's, in
//! `kairos-server::api::convert`).

pub mod dags;
pub mod runs;
pub mod task_instances;

pub use dags::{Dag, DagList, DagPatch};
pub use runs::{DagRun, DagRunList, DagRunPatch, MarkRunState, TriggerRun};
pub use task_instances::{Explanation, TaskInstance, TaskInstanceList, TaskTry, TaskTryList};
