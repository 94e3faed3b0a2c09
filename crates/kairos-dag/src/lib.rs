//! The pure DAG model of Kairos.
pub mod date;
pub mod diag;
pub mod duration;
pub mod graph;
pub mod load;
pub mod model;
pub mod operator;
pub mod retry;
pub mod schedule;
pub mod state;
pub mod suggest;
pub mod template;
pub mod trigger_rule;
pub mod version;
pub mod yaml;
