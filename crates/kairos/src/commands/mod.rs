pub mod cluster;
pub mod dags;
pub mod worker;
