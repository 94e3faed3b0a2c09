//! The leader's half of the scheduler: what needs a clock or memory.
//!
//! Only the Raft leader schedules. `supervise` starts the leader loop (`lead`) when
//! this node becomes leader and stops it the moment it is not: the one place
//! leader-only work starts and stops. The loop first passes a read barrier, re-arms
//! a full lease for every running attempt, and only then lets workers poll and
//! leases expire; each tick it proposes the runs schedules ask for and a `Tick`
//! when a timer is due. Readiness, fast-follow and queueing happen inside apply
//! (kairos-state's `engine`). What the loop shares with the worker service
//! (leases, workers, claims, placements) is `state::Leader`; `placement` decides
//! which worker may take a task (its environment, its team).

pub mod claims;
mod lead;
pub mod leases;
pub mod placement;
mod state;
mod supervise;
pub mod workers;

pub use state::{Leader, LeaderSettings};
pub use supervise::start;
