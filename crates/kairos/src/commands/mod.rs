pub mod cluster;
pub mod dags;
