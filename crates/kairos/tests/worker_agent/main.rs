//! The worker agent with real processes: three `kairos server`s and two
//! `kairos worker`s on 127.0.0.1, with worker tokens and a short lease.
//!
//! - bash and python tasks pass values through XComs (`$KAIROS_XCOM_FILE`, stdout,
//!   return values, `xcom_pull` in templates, `var.value`) and a branch picks a path;
//! - `kill -9` of the worker running a task: the lease runs out, the other worker
//!   retries it, the run succeeds, and the killed try is recorded failed once;
//! - `kill -9` of the leader while tasks run: every task recorded once, on try 1;
//! - an `execution_timeout` kills a `sleep 600` and its whole process group;
//! - a worker with a wrong token is refused with a clear message;
//! - a sensor in `reschedule` mode times out from its first poke, for good;
//! - tasks go to the worker that has their execution environment and serves
//!   their team; the others stay queued, explained.
//!
//! One test binary, one module per test; `support.rs` starts the cluster and
//! the workers, and holds the lock that runs the tests one at a time.

mod support;

mod environments;
mod killed_worker;
mod leader_kill_and_timeout;
mod sensors;
mod task_isolation;
mod teams_bundles;
mod xcoms_and_drain;
