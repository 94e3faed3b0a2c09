//! The REST API's wire types: the JSON shapes the server answers with, the
//! bodies it accepts and the query parameters it reads, named as Airflow's
//! stable REST API names them where the same thing exists (`dag_run_id`,
//! `logical_date`, `is_paused`, ...). The server (`kairos-server::api`) and its
//! clients (`kairos-client`) compile against these same types, so they cannot
//! drift apart. Bodies derive utoipa's `ToSchema` and queries its `IntoParams`,
//! from which the server's OpenAPI document is generated.
//!
//! `airflow` holds the shapes only Airflow's own clients need (a tag object, a
//! `TimeDelta`, a `ScheduleInterval`).
//!
//! Plain data only: no dependency on the state machine (so a client does not pull
//! in RocksDB), no conversions from its records (those are the server's, in
//! `kairos-server::api::convert`). One file per resource; `query` holds the
//! parameters many endpoints share.

pub mod airflow;
pub mod assets;
pub mod backfills;
pub mod bundles;
pub mod cluster;
pub mod connections;
pub mod dag_files;
pub mod dags;
pub mod grid;
pub mod logs;
pub mod pools;
pub mod query;
pub mod retention;
pub mod runs;
pub mod task_instances;
pub mod variables;
pub mod versions;
pub mod xcoms;

pub use airflow::{
    ClassReference, CronExpression, DagWarningList, ImportErrorList, ScheduleInterval, Tag,
    TimeDelta,
};
pub use assets::{
    Asset, AssetEvent, AssetEventList, AssetEventQuery, AssetList, BasicRun, ConsumingDag,
    CreateAssetEvent, ProducingTask,
};
pub use backfills::{Backfill, BackfillRequest, Reprocess};
pub use bundles::{
    Bundle, BundleList, BundlePush, BundlePushResponse, BundleVersion, BundleVersionDetail,
    BundleVersionList, FilesStored, FilesUpload, MissingFiles, MissingFilesRequest,
};
pub use cluster::{
    ClusterView, ComponentHealth, InitCluster, LeaderChange, MemberView, MembershipChange,
    NewMember, NodeHealth, SchedulerHealth, StateDigest, VersionInfo, WorkerEnvironmentView,
    WorkerList, WorkerView,
};
pub use connections::{Connection, ConnectionBody, ConnectionList};
pub use dag_files::{PushRequest, PushResponse, PushedDag};
pub use dags::{Dag, DagDetail, DagList, DagListQuery, DagPatch, DagTask, DagTaskList, UpdateMask};
pub use grid::{Grid, GridCell, GridGroup, GridQuery, GridRun, GridTask};
pub use logs::{LogContent, LogQuery};
pub use pools::{AirflowPool, Pool, PoolBody, PoolList};
pub use query::{Page, ReadOptions};
pub use retention::{PurgeRequest, PurgeResult};
pub use runs::{
    ClearDagRun, ClearDagRunAnswer, DagCallback, DagIds, DagRun, DagRunList, DagRunPatch, DagStats,
    DagStatsItem, MarkRunState, RunFilter, RunOrderParam, StateCount, TriggerRun,
};
pub use task_instances::{
    ClearRequest, ClearResponse, ClearedInstance, Explanation, MarkRequest, TaskInstance,
    TaskInstanceFilter, TaskInstanceList, TaskInstanceQuery, TaskTry, TaskTryList,
};
pub use variables::{AirflowVariable, TeamQuery, Variable, VariableBody, VariableList};
pub use versions::{
    Diff, FileKey, FileText, GraphTask, TaskChange, Version, VersionChanges, VersionDetail,
    VersionList,
};
pub use xcoms::{XComEntry, XComList, XComQuery};
