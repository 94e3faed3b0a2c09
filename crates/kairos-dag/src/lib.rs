//! The pure DAG model of Kairos.
pub mod duration;
pub mod retry;
pub mod schedule;
pub mod state;
pub mod trigger_rule;
pub mod yaml;
