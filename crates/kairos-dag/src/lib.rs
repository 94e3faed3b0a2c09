//! The pure DAG model of Kairos.
pub mod yaml;
