//! The worker protocol's server side, one file per job: `guard` (leader and
//! registration checks), `leader_wait` (a call held while the leadership
//! changes), `register`, `dispatch` (polls: claims, dispatch, leases),
//! `assignment` (what an attempt needs), `leases` (heartbeats), `reports` (results
//! and XComs, after `caps` checked their sizes), `batch` (many results and the
//! next work in one call), `reads` (XComs, Variables, run states, files), `trigger`
//! (TriggerDagRunOperator), `dag_callbacks` (a DAG's own callbacks: handed out by
//! polls, reported when done), `upload` (finished attempts' logs, kept by the
//! servers), `convert` (protocol fields checked); `service` is the
//! gRPC trait, handing each call to its file.

mod assignment;
mod batch;
mod caller;
mod caps;
mod convert;
mod dag_callbacks;
mod dispatch;
mod guard;
mod leader_wait;
mod leases;
mod reads;
mod register;
mod reports;
mod service;
mod task_code;
mod trigger;
mod upload;
mod waiting_take;

pub use service::WorkerService;
